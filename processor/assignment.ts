// How the processor group shares the input partitions. kafkajs offers round robin,
// which reshuffles almost every partition at every membership change; with eager
// rebalancing every moved partition is restored again. This assignment is sticky and
// state-aware: a member keeps what it owns (up to its fair share; above it, it gives up
// first what another member holds state for), and a partition to place goes first to a member that has its state on disk (a warm restore from the
// checkpoint instead of a full one), then to the member with the most room. Members
// tell what they own and hold in the join's user data (the port carries it).
import type { GroupAssignor, GroupMember } from '../platform/kafka-port.js';

/** What a member owns and holds, as it told the group. */
export type MemberState = GroupMember;

/**
 * Pure: every partition to exactly one member, each member floor(P/M) or one more,
 * as few partitions moved as that allows, warm members preferred for the moved ones.
 */
export function stickyAssignment(
  members: readonly MemberState[],
  partitions: readonly number[],
): Map<string, number[]> {
  const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const out = new Map<string, number[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return out;
  const valid = new Set(partitions);
  const base = Math.floor(partitions.length / sorted.length);
  let extra = partitions.length % sorted.length;
  const taken = new Set<number>();
  // Keep what members own, up to base + 1; the +1 goes to those owning the most.
  const byOwned = [...sorted].sort(
    (a, b) => b.owned.length - a.owned.length || a.memberId.localeCompare(b.memberId),
  );
  const capacity = new Map<string, number>();
  for (const member of byOwned) {
    const cap = base + (extra > 0 && member.owned.filter((p) => valid.has(p)).length > base ? 1 : 0);
    if (cap > base) extra -= 1;
    capacity.set(member.memberId, cap);
    // A member above its share gives up first what another member holds state for (that
    // one restores it warm), and keeps what only it holds.
    const warmElsewhere = (p: number) => sorted.some((o) => o !== member && o.warm.includes(p));
    const keepOrder = [...member.owned].sort(
      (a, b) => Number(warmElsewhere(a)) - Number(warmElsewhere(b)) || a - b,
    );
    for (const p of keepOrder) {
      const mine = out.get(member.memberId)!;
      if (mine.length >= cap) break;
      if (valid.has(p) && !taken.has(p)) {
        mine.push(p);
        taken.add(p);
      }
    }
  }
  // The remaining +1s go to the members with the fewest, in id order.
  for (const member of sorted) {
    if (extra === 0) break;
    if (capacity.get(member.memberId) === base) {
      capacity.set(member.memberId, base + 1);
      extra -= 1;
    }
  }
  const room = (id: string) => capacity.get(id)! - out.get(id)!.length;
  for (const p of [...partitions].sort((a, b) => a - b)) {
    if (taken.has(p)) continue;
    const warm = sorted.filter((m) => room(m.memberId) > 0 && m.warm.includes(p));
    const candidates = warm.length > 0 ? warm : sorted.filter((m) => room(m.memberId) > 0);
    const target = candidates.reduce((best, m) => (room(m.memberId) > room(best.memberId) ? m : best));
    out.get(target.memberId)!.push(p);
    taken.add(p);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/**
 * The group's assignor: stickyAssignment under its protocol name (kept, so members of
 * every version agree); `describe` tells this member's state at each join.
 */
export function stickyAssignor(describe: () => { owned: number[]; warm: number[] }): GroupAssignor {
  return { name: 'RunstreamStickyAssigner', describe, assign: stickyAssignment };
}

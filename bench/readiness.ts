// Whether a role started by a benchmark answers /readyz (partitions restored, view
// caught up); an unreachable port is simply not ready yet.
export function isReady(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
}

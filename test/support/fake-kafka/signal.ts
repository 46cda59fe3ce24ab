// A broadcast a loop can wait on: wait() resolves at the next fire(). The fake's
// consumers wait on the cluster's (new data) and their own (seek, resume, stop), never
// on a timer.
export class Signal {
  private waiters: Array<() => void> = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  fire(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

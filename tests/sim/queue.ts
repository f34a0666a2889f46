/**
 * Virtual clock and event queue. Events are ordered by (time, insertion sequence): two events at
 * the same virtual millisecond run in the order they were scheduled, so a run is a pure function
 * of its seed. A binary heap keeps push/pop O(log n) — runs schedule hundreds of thousands of events.
 */

interface Entry<T> {
  readonly time: number;
  readonly seq: number;
  readonly event: T;
}

function before<T>(x: Entry<T>, y: Entry<T>): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}

export class EventQueue<T> {
  private readonly heap: Entry<T>[] = [];
  private seq = 0;
  /** Virtual now, in milliseconds: the time of the event last popped. Never goes backwards. */
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Schedule `event` at absolute virtual time `time` (clamped to now: the past is not reachable). */
  at(time: number, event: T): void {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`);
    const entry: Entry<T> = { time: Math.max(time, this.now), seq: this.seq++, event };
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Schedule `event` after `delay` ms of virtual time. */
  after(delay: number, event: T): void {
    this.at(this.now + delay, event);
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** Remove and return the earliest event, advancing the clock to its time. */
  pop(): { time: number; event: T } | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    this.now = top.time;
    return { time: top.time, event: top.event };
  }
}

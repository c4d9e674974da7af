// Timer lists for flow expiry in packet time. Every list holds nodes whose deadlines
// are appended in (nearly) increasing order - all nodes of one list share the same
// timeout, so "touch = move to the tail" keeps it sorted - and expiry only looks at
// the head: O(1) per packet and per expired flow, never a scan of all flows.
// Packets out of time order make the order approximate; a node then expires a little
// late, never early.

export class TimerNode<T> {
  prev: TimerNode<T> | null = null;
  next: TimerNode<T> | null = null;
  list: ExpiryList<T> | null = null;
  /** packet time (µs) at which this node is due */
  deadline = 0;

  constructor(readonly owner: T) {}
}

/**
 * Set when a list's head changes (a node becomes the head of an empty list, or the head is
 * removed or moved to the tail): the owner of several lists may then skip looking at their
 * heads while it knows none is due (FlowEngine.expireDue).
 */
export interface HeadWatch {
  moved: boolean;
}

export class ExpiryList<T> {
  head: TimerNode<T> | null = null;
  tail: TimerNode<T> | null = null;
  size = 0;

  constructor(private readonly watch: HeadWatch = { moved: false }) {}

  /**
   * Appends (or moves) the node to the tail; set node.deadline first. (The deadline is
   * not a parameter: passing a double to a call that is not inlined allocates.)
   */
  push(node: TimerNode<T>): void {
    if (node.list !== null) {
      if (node.list === this && node === this.tail) return;
      node.list.remove(node);
    }
    node.list = this;
    node.prev = this.tail;
    node.next = null;
    if (this.tail !== null) this.tail.next = node;
    else {
      this.head = node;
      this.watch.moved = true;
    }
    this.tail = node;
    this.size++;
  }

  remove(node: TimerNode<T>): void {
    if (node.list !== this) return;
    if (node.prev !== null) node.prev.next = node.next;
    else {
      this.head = node.next;
      this.watch.moved = true;
    }
    if (node.next !== null) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    node.list = null;
    this.size--;
  }

  /** The head if it is due at `now`, else null (small enough to be inlined). */
  due(now: number): TimerNode<T> | null {
    const h = this.head;
    return h !== null && h.deadline <= now ? h : null;
  }
}

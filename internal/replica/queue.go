package replica

// segItems is the number of pending changes one queue segment holds.
const segItems = 128

// segment is a fixed block of the pending queue.
type segment struct {
	items [segItems]item
	next  *segment
}

// fifo holds the pending changes in commit order, in a list of fixed-size
// segments. A slice that grows by doubling and compacts once half applied
// copied every pending change (each a few hundred bytes) once or twice
// and allocated a new, large array at every growth; a segment is filled
// once, and emptied segments are reused. Popped slots are cleared at once,
// so an applied change keeps no blob version alive.
type fifo struct {
	head, tail *segment
	hi, ti     int // first item of head; one past the last item of tail
	n          int
	spare      *segment // one emptied segment, kept for the next push
}

func (q *fifo) len() int { return q.n }

func (q *fifo) push(it item) {
	if q.tail == nil || q.ti == segItems {
		s := q.spare
		if s != nil {
			q.spare = nil
		} else {
			s = new(segment)
		}
		if q.tail == nil {
			q.head, q.hi = s, 0
		} else {
			q.tail.next = s
		}
		q.tail, q.ti = s, 0
	}
	q.tail.items[q.ti] = it
	q.ti++
	q.n++
}

// front is the oldest pending change; the queue must not be empty.
func (q *fifo) front() *item { return &q.head.items[q.hi] }

// pop removes the oldest pending change; the queue must not be empty.
func (q *fifo) pop() {
	q.head.items[q.hi] = item{}
	q.hi++
	q.n--
	switch {
	case q.n == 0:
		// Empty: keep the one segment, from its start.
		q.head.next = nil
		q.tail, q.hi, q.ti = q.head, 0, 0
	case q.hi == segItems:
		s := q.head
		q.head, q.hi = s.next, 0
		s.next = nil
		q.spare = s
	}
}

// each calls fn with the pending changes from the oldest on, until fn
// returns false.
func (q *fifo) each(fn func(*item) bool) {
	for s, i, left := q.head, q.hi, q.n; left > 0; left-- {
		if i == segItems {
			s, i = s.next, 0
		}
		if !fn(&s.items[i]) {
			return
		}
		i++
	}
}

// reset drops every pending change and the segments.
func (q *fifo) reset() { *q = fifo{} }

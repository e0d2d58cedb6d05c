package process

import (
	"sync"

	rpc "github.com/sandboxstack/terraform-provider-sandbox/server/proto/process"
)

// maxQueuedBytes bounds the output waiting for one stream. The queue is otherwise unbounded so a
// process never waits for a client; a client this far behind is cut off rather than allowed to grow
// envd's memory without limit.
const maxQueuedBytes = 32 << 20

// subscriber is the event queue of one attached Start or Connect stream. Producers never block on it.
type subscriber struct {
	mu       sync.Mutex
	events   []*rpc.ProcessEvent
	queued   int
	overflow bool
	// notify holds at most one pending wake-up; the consumer takes the whole queue per wake-up.
	notify chan struct{}
}

func newSubscriber() *subscriber {
	return &subscriber{notify: make(chan struct{}, 1)}
}

// push queues ev, which carries size bytes of output. It reports false once the subscriber has
// overflowed; the queue is then discarded and the consumer learns of it from take.
func (s *subscriber) push(ev *rpc.ProcessEvent, size int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.overflow {
		return false
	}
	if s.queued+size > maxQueuedBytes {
		s.overflow = true
		s.events, s.queued = nil, 0
		s.wake()
		return false
	}
	s.events = append(s.events, ev)
	s.queued += size
	s.wake()
	return true
}

// take empties the queue. overflow reports that events were lost and the stream must end.
func (s *subscriber) take() (events []*rpc.ProcessEvent, overflow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events, s.events, s.queued = s.events, nil, 0
	return events, s.overflow
}

func (s *subscriber) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

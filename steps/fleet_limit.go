package steps

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The fleet's clock and its rate limiter: how many devices may start per second, so that a
// fleet against AWS stays under the account's quotas (the defaults and their source are in
// fleet.go). The clock is an interface so that tests drive both without waiting.

// Clock is the time the fleet measures with and waits on.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RateLimiter lets at most Rate devices start per second, evenly spaced (a token bucket of
// one: a burst would spend the quota of the next second at once). A zero rate means no limit.
// It is safe for concurrent use, and counts who waited and for how long, for the live view.
type RateLimiter struct {
	perSecond float64
	lim       *rate.Limiter
	clock     Clock

	mu      sync.Mutex
	waiting int           // callers in Wait now
	delayed int           // callers that had to wait, in all
	waited  time.Duration // the sum of their waits
}

// NewRateLimiter limits to perSecond starts a second (0: no limit) on clock (nil: the wall clock).
func NewRateLimiter(perSecond float64, clock Clock) *RateLimiter {
	if clock == nil {
		clock = realClock{}
	}
	l := &RateLimiter{perSecond: perSecond, clock: clock}
	if perSecond > 0 {
		l.lim = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	return l
}

// Rate is the limit in starts per second (0: none).
func (l *RateLimiter) Rate() float64 { return l.perSecond }

// Wait blocks until the caller may start (at once without a limit), or ctx ends.
func (l *RateLimiter) Wait(ctx context.Context) error {
	if l.lim == nil {
		return ctx.Err()
	}
	now := l.clock.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return ctx.Err()
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	l.waiting++
	l.delayed++
	l.waited += d
	l.mu.Unlock()
	err := l.clock.Sleep(ctx, d)
	l.mu.Lock()
	l.waiting--
	l.mu.Unlock()
	if err != nil {
		r.CancelAt(l.clock.Now()) // give the slot back: it was not used
	}
	return err
}

// LimiterState is what the live view shows of the limiter.
type LimiterState struct {
	Rate    float64       `json:"ratePerSecond"` // 0: no limit
	Waiting int           `json:"waiting"`       // devices waiting for their turn now
	Delayed int           `json:"delayed"`       // devices that had to wait, in all
	Waited  time.Duration `json:"-"`             // the sum of their waits
}

// State is a snapshot of the limiter.
func (l *RateLimiter) State() LimiterState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimiterState{Rate: l.perSecond, Waiting: l.waiting, Delayed: l.delayed, Waited: l.waited}
}

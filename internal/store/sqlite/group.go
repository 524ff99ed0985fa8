package sqlite

// Group commit.
//
// A durable SQLite commit costs one fsync of the WAL (about 0.25 ms here and
// far more on a busy disk); the SQL of a typical Update costs a few tens of
// microseconds. One commit per Update therefore caps the engine at a few
// thousand writes per second however many callers wait. Instead, Update hands
// its fn to a single writer goroutine, which owns the writer connection and
// commits whatever queued while its previous commit was in flight, together:
//
//	BEGIN IMMEDIATE
//	  SAVEPOINT fn; fn #1; RELEASE fn              (fn #1 succeeded)
//	  SAVEPOINT fn; fn #2; ROLLBACK TO fn; RELEASE fn   (fn #2 failed: its writes vanish)
//	  ...                                           (at most maxGroup fns)
//	COMMIT                                          (one fsync for the group)
//
// then answers each caller: nil to the fns that succeeded, only once COMMIT
// has returned (so nil still means durable); its own error, unchanged, to a
// fn that failed; COMMIT's error to every fn that succeeded if COMMIT fails.
// The fns run one after the other on one connection, each seeing the writes
// of those before it, so the group is equivalent to running them serially:
// serializability, and the per-meeting serialization of D10, are unchanged.
//
// There is no timer: a lone Update is committed at once (a group of one runs
// without savepoints, exactly as before), and the group grows only with the
// callers that queued while the writer was busy, which is when grouping pays.
//
// Contexts: a caller whose ctx ends before the writer starts its fn gets
// ctx.Err() and the fn never runs. Once the fn has started the caller waits
// for the outcome, even if its ctx ends meanwhile: the write may commit, and
// reporting failure for a committed write would be a lie. Inside the group a
// statement fails with ctx.Err() if ctx is done when it starts (see
// tx.detached); the fn then typically returns that error and only its own
// savepoint is rolled back.
//
// A panic in a fn is recovered in the writer; a runtime.Goexit in a fn
// (t.FailNow) cannot be stopped and ends the writer goroutine, which first
// starts its replacement (replaceOnGoexit). Either way the fn's savepoint
// (for a panic) or the whole transaction (for Goexit, which gives no chance
// to finish the group) is rolled back, its caller gets an error matching
// store.ErrAborted, and the other callers are served: after a Goexit the
// fns of the group run again in the next one, as after SQLITE_BUSY. The
// fns run on the writer itself because handing each to another goroutine
// costs more than the SQL of a small Update (measured: +20% CPU for batch
// updates under load).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// maxGroup bounds how many Update calls one transaction commits together: it
// bounds the latency a caller adds to the others of its group.
const maxGroup = 128

// queueSize is the capacity of the channel from Update to the writer.
const queueSize = 4 * maxGroup

// States of a request, moved by compare-and-swap: the writer claims a queued
// request before running its fn (or answering it), the caller abandons it
// when its ctx ends first.
const (
	reqQueued int32 = iota
	reqClaimed
	reqAbandoned
)

// request is one Update call waiting for the writer.
type request struct {
	ctx   context.Context
	fn    func(meetings.Tx) error
	state atomic.Int32
	done  chan result // buffered(1): the writer never blocks on it

	// Writer only.
	claimed  bool // the writer owns it (state is reqClaimed)
	attempts int  // runs that ended in SQLITE_BUSY
}

// result is the answer to one request.
type result struct {
	err error
	// aborted: the fn panicked or called runtime.Goexit (err wraps
	// store.ErrAborted). It is never run again.
	aborted bool
}

// groupRun is the group the writer is running, for replaceOnGoexit.
type groupRun struct {
	tx      *sql.Tx
	group   []*request
	current int        // the fn running: group[current]
	ok      []*request // fns that succeeded, to answer after COMMIT
}

// goexit is a group whose fn called runtime.Goexit.
type goexit struct {
	run *groupRun
	err error
}

// claim makes the writer the owner of r, unless its caller gave up first.
func (r *request) claim() bool {
	if !r.claimed {
		r.claimed = r.state.CompareAndSwap(reqQueued, reqClaimed)
	}
	return r.claimed
}

func (r *request) answer(res result) { r.done <- res }

// live reports whether r still wants to run (without claiming it).
func (r *request) live() bool { return r.claimed || r.state.Load() == reqQueued }

// writerStats are counters for tests and diagnostics.
type writerStats struct {
	commits atomic.Int64 // COMMITs issued (one fsync each)
	fns     atomic.Int64 // fns run (each run of a retried fn counts)
}

// submit queues fn for the writer and waits for its outcome.
func (s *Store) submit(ctx context.Context, fn func(meetings.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan result, 1)}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	var res result
	select {
	case res = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return ctx.Err() // the fn never runs
		}
		res = <-r.done // it started: wait for the commit
	}
	return res.err
}

// writer is the goroutine that owns the writer connection. It ends once
// Close has closed the queue and every request in it has been dealt with.
func (s *Store) writer() {
	defer s.replaceOnGoexit()
	group := make([]*request, 0, maxGroup)
	for {
		group = append(group[:0], s.carry...)
		s.carry = s.carry[:0]
		if len(group) == 0 {
			select {
			case r, ok := <-s.queue:
				if !ok {
					return
				}
				group = append(group, r)
			case id := <-s.loads: // nil, never ready, when the live state is off
				s.load(id)
				continue
			}
		}
	drain:
		for len(group) < maxGroup {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		s.runGroup(group)
		clear(group) // let the requests be collected
		s.serveLoads(loadsPerGroup)
	}
}

// replaceOnGoexit runs when the writer goroutine ends. If it ends because
// a fn called runtime.Goexit, it rolls the group back, answers that fn's
// caller, carries the rest of the group over, and starts the writer's
// replacement; otherwise the writer is done.
func (s *Store) replaceOnGoexit() {
	g := s.exited
	if g == nil {
		close(s.writerDone)
		return
	}
	s.exited = nil
	g.run.tx.Rollback() // nothing was applied to the live state
	g.run.group[g.run.current].answer(result{err: g.err, aborted: true})
	// The fns that succeeded lost their writes with the transaction.
	s.carry = append(s.carry, g.run.ok...)
	for _, r := range g.run.group[g.run.current+1:] {
		if r.live() {
			s.carry = append(s.carry, r)
		}
	}
	go s.writer()
}

// runGroup runs the live requests of group in one transaction and answers
// them; the requests to run again (SQLITE_BUSY) go to s.carry.
func (s *Store) runGroup(group []*request) {
	n := 0
	for _, r := range group {
		if r.live() {
			n++
		}
	}
	if n == 0 {
		return
	}
	sqlTx, err := s.begin(group)
	if err != nil {
		for _, r := range group {
			if r.claim() {
				r.answer(result{err: err})
			}
		}
		return
	}
	t := &tx{tx: sqlTx, stmts: s.wStmts, detached: true, live: s.live}
	savepoints := n > 1
	run := &groupRun{tx: sqlTx, group: group}
	for i, r := range group {
		run.current = i
		if !r.claim() {
			continue // its caller gave up; the fn never runs
		}
		if err := r.ctx.Err(); err != nil {
			r.answer(result{err: err})
			continue
		}
		if !savepoints {
			res := s.runFn(t, r, run)
			if res.err != nil {
				sqlTx.Rollback()
				s.carry = s.failed(r, res, s.carry)
				return
			}
			run.ok = append(run.ok, r)
			break
		}
		if _, err := t.exec(context.Background(), qSavepoint); err != nil {
			r.answer(result{err: err})
			continue
		}
		mark := len(t.changes)
		res := s.runFn(t, r, run)
		if res.err == nil {
			_, err := t.exec(context.Background(), qRelease)
			if err == nil {
				run.ok = append(run.ok, r)
				continue
			}
			res = result{err: err}
		}
		// Undo this fn's writes only. If even that fails the transaction is
		// in an unknown state: give it up, and with it the whole group.
		t.changes = t.changes[:mark]
		_, err1 := t.exec(context.Background(), qRollbackTo)
		_, err2 := t.exec(context.Background(), qRelease)
		if err := firstErr(err1, err2); err != nil {
			sqlTx.Rollback()
			err = fmt.Errorf("sqlite: rolling back a failed Update of a group: %w", err)
			for _, o := range run.ok {
				o.answer(result{err: err})
			}
			s.carry = s.failed(r, res, s.carry)
			// The ones not run yet go to the next group.
			for _, o := range group[i+1:] {
				if o.live() {
					s.carry = append(s.carry, o)
				}
			}
			return
		}
		s.carry = s.failed(r, res, s.carry)
	}
	if len(run.ok) == 0 {
		sqlTx.Rollback() // nothing to commit: no fsync
		return
	}
	s.stats.commits.Add(1)
	commitStart := time.Now()
	err = mapErr(sqlTx.Commit())
	if s.onCommit != nil && err == nil {
		s.onCommit(len(run.ok), time.Since(commitStart))
	}
	if s.live != nil {
		// Before anyone is answered (live.go).
		if err == nil {
			s.live.apply(t.changes)
		} else {
			s.live.drop(t.touched)
		}
	}
	if err != nil && isBusy(err) {
		// As before group commit: the whole transaction runs again.
		for _, r := range run.ok {
			s.carry = s.retryOrAnswer(r, err, s.carry)
		}
		return
	}
	for _, r := range run.ok {
		r.answer(result{err: err})
	}
}

// failed answers a request whose fn failed or was aborted, or carries it
// over to the next group if the failure is SQLITE_BUSY and retries remain.
func (s *Store) failed(r *request, res result, carry []*request) []*request {
	if res.aborted {
		r.answer(res)
		return carry
	}
	return s.retryOrAnswer(r, res.err, carry)
}

func (s *Store) retryOrAnswer(r *request, err error, carry []*request) []*request {
	if isBusy(err) && r.attempts < maxBusyRetries && r.ctx.Err() == nil {
		r.attempts++
		s.log.Warn("sqlite write transaction busy; retrying", "attempt", r.attempts, "err", err)
		return append(carry, r)
	}
	r.answer(result{err: err})
	return carry
}

// runFn runs one fn of run, recovering a panic. On runtime.Goexit it notes
// the group for replaceOnGoexit.
func (s *Store) runFn(t *tx, r *request, run *groupRun) result {
	s.stats.fns.Add(1)
	err := store.CallAborting(s.log, "sqlite", func() error { return r.fn(t) }, func(err error) {
		s.exited = &goexit{run: run, err: err}
	})
	return result{err: err, aborted: errors.Is(err, store.ErrAborted)}
}

// begin starts the group's transaction (BEGIN IMMEDIATE), retrying while
// another process holds the write lock past the busy timeout, at most
// maxBusyRetries times, and not once every request of the group is gone.
func (s *Store) begin(group []*request) (*sql.Tx, error) {
	for attempt := 0; ; attempt++ {
		sqlTx, err := s.w.BeginTx(context.Background(), nil)
		if err == nil {
			return sqlTx, nil
		}
		err = mapErr(err)
		if !isBusy(err) || attempt >= maxBusyRetries {
			return nil, err
		}
		s.log.Warn("sqlite write transaction busy; retrying", "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		live := false
		for _, r := range group {
			if r.live() && (r.claimed || r.ctx.Err() == nil) {
				live = true
			}
		}
		if !live {
			return nil, err
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

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
// The fns run on a goroutine of their own, the runner, while the writer
// waits for each: a panic in a fn is recovered there, and a runtime.Goexit
// (t.FailNow) ends only the runner, which the writer replaces for the next
// fn. Either way the fn's savepoint (or the whole transaction, for a group
// of one) is rolled back, its caller gets an error matching
// store.ErrAborted, and the rest of the group is unaffected.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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
	// exited: the fn called runtime.Goexit, which ended the runner.
	exited bool
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
	defer close(s.writerDone)
	defer s.stopRunner()
	group := make([]*request, 0, maxGroup)
	var carry []*request // to run again after SQLITE_BUSY
	for {
		group = append(group[:0], carry...)
		carry = carry[:0]
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
		carry = s.runGroup(group, carry)
		clear(group) // let the requests be collected
		s.serveLoads(loadsPerGroup)
	}
}

// runGroup runs the live requests of group in one transaction and answers
// them; it returns carry with the requests to run again (SQLITE_BUSY).
func (s *Store) runGroup(group, carry []*request) []*request {
	n := 0
	for _, r := range group {
		if r.live() {
			n++
		}
	}
	if n == 0 {
		return carry
	}
	sqlTx, err := s.begin(group)
	if err != nil {
		for _, r := range group {
			if r.claim() {
				r.answer(result{err: err})
			}
		}
		return carry
	}
	t := &tx{tx: sqlTx, stmts: s.wStmts, detached: true, live: s.live}
	savepoints := n > 1
	var ok []*request // fns that succeeded, to answer after COMMIT
	for i, r := range group {
		if !r.claim() {
			continue // its caller gave up; the fn never runs
		}
		if err := r.ctx.Err(); err != nil {
			r.answer(result{err: err})
			continue
		}
		if !savepoints {
			res := s.runFn(t, r)
			if res.err != nil {
				sqlTx.Rollback()
				return s.failed(r, res, carry)
			}
			ok = append(ok, r)
			break
		}
		if _, err := t.exec(context.Background(), qSavepoint); err != nil {
			r.answer(result{err: err})
			continue
		}
		mark := len(t.changes)
		res := s.runFn(t, r)
		if res.err == nil {
			_, err := t.exec(context.Background(), qRelease)
			if err == nil {
				ok = append(ok, r)
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
			for _, o := range ok {
				o.answer(result{err: err})
			}
			carry = s.failed(r, res, carry)
			// The ones not run yet go to the next group.
			for _, o := range group[i+1:] {
				if o.live() {
					carry = append(carry, o)
				}
			}
			return carry
		}
		carry = s.failed(r, res, carry)
	}
	if len(ok) == 0 {
		sqlTx.Rollback() // nothing to commit: no fsync
		return carry
	}
	s.stats.commits.Add(1)
	err = mapErr(sqlTx.Commit())
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
		for _, r := range ok {
			carry = s.retryOrAnswer(r, err, carry)
		}
		return carry
	}
	for _, r := range ok {
		r.answer(result{err: err})
	}
	return carry
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

// runFn runs one fn on the runner and waits for its result.
func (s *Store) runFn(t *tx, r *request) result {
	s.stats.fns.Add(1)
	if s.runner == nil {
		s.runner = newFnRunner(s.log)
	}
	s.runner.calls <- fnCall{t, r.fn}
	res := <-s.runner.results
	if res.exited {
		s.runner = nil // it ended; the next fn starts another
	}
	return res
}

// stopRunner ends the runner (writer only, once it has no more fns to run).
func (s *Store) stopRunner() {
	if s.runner != nil {
		close(s.runner.calls)
		s.runner = nil
	}
}

// fnRunner is the goroutine that runs fns for the writer, one at a time,
// so that a fn's panic or runtime.Goexit never reaches the writer, which
// holds the transaction and the answers of the whole group. It costs two
// channel hand-offs per fn.
type fnRunner struct {
	calls   chan fnCall
	results chan result
	log     *slog.Logger
}

type fnCall struct {
	t  *tx
	fn func(meetings.Tx) error
}

func newFnRunner(log *slog.Logger) *fnRunner {
	r := &fnRunner{calls: make(chan fnCall), results: make(chan result), log: log}
	go func() {
		for c := range r.calls {
			r.results <- r.run(c)
		}
	}()
	return r
}

// run runs one fn. On runtime.Goexit the result is sent from the deferred
// call of store.CallAborting, and the goroutine then ends.
func (r *fnRunner) run(c fnCall) result {
	err := store.CallAborting(r.log, "sqlite", func() error { return c.fn(c.t) }, func(err error) {
		r.results <- result{err: err, aborted: true, exited: true}
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

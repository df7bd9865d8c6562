package coresim

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// readPool is the readers' pool with each query's statement prepared once:
// SQLite otherwise parses a query's text on every call, which was about a
// fifth of the simulator's time for an account read. Reads through it
// behave as the pool's own (a statement prepares itself again on each
// connection it meets); only the parsing is saved.
type readPool struct {
	*sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxPrepared bounds the statements kept: the simulator's queries are a
// fixed set, and a query built with its values inline must not grow the
// cache without end; past the bound a query runs unprepared.
const maxPrepared = 256

func newReadPool(db *sql.DB) *readPool {
	return &readPool{DB: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query's statement, preparing it on first use; nil when it
// cannot be prepared or the cache is full, for the caller to run the query
// unprepared (with the same error, if any).
func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st
	}
	if len(p.stmts) >= maxPrepared {
		return nil
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts[query] = st
	return st
}

func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// closeStatements closes the prepared statements (before the pool).
func (p *readPool) closeStatements() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for q, st := range p.stmts {
		err = errors.Join(err, st.Close())
		delete(p.stmts, q)
	}
	return err
}

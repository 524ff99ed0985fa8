package postgres

import (
	"testing"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// TestConformance runs the engine conformance suite shared with the
// embedded engine, each subtest in its own fresh schema of one fresh
// database (which also exercises a search_path given in the URL).
func TestConformance(t *testing.T) {
	db := freshDatabase(t)
	storetest.Run(t, func(t *testing.T) meetings.Store {
		return openStore(t, Options{URL: freshSchema(t, db)})
	})
}

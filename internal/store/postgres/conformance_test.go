package postgres

import (
	"testing"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// TestConformance runs the engine conformance suite shared with the
// embedded engine, each subtest on its own fresh database.
func TestConformance(t *testing.T) {
	adminURL(t)
	storetest.Run(t, func(t *testing.T) meetings.Store {
		return openStore(t, Options{})
	})
}

package sqlite

// groupStats returns how many COMMITs the writer has issued and how many
// Update fns it has run (see writerStats), for tests and benchmarks.
func groupStats(s *Store) (commits, fns int64) {
	return s.stats.commits.Load(), s.stats.fns.Load()
}

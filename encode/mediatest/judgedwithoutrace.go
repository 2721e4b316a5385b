package mediatest

import "testing"

// JudgedWithoutRace ends a test that checked less under the race detector
// (see Race) as skipped, once it checked what it could: scripts/test runs
// again, without -race, only the tests of root, studio and encode that
// did not pass whole under it, and a skip is what tells it this one must.
// A test that returned early, or passed over its timing by an if, would
// pass whole and never be judged on its timing. Without -race it does
// nothing.
func JudgedWithoutRace(t testing.TB) {
	t.Helper()
	if Race {
		t.Skip("its timing is judged without -race")
	}
}

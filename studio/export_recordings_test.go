package studio

// AttachTestRecordings lists the shows of dir, live being recorded now,
// without a Program (which needs the encoder): for the listing's tests.
func (s *Studio) AttachTestRecordings(dir, live string) {
	s.attachRecordings(testRecordings{dir, live})
}

type testRecordings struct{ dir, live string }

func (t testRecordings) recordingsWhere() (string, string) { return t.dir, t.live }

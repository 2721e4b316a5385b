// A module of its own only for its import path: see the package comment.
module bootlocale

go 1.26.0

require (
	github.com/jeandeaual/go-locale v0.0.0-20250612000132-0ef82f21eade
	golang.org/x/text v0.44.0
)

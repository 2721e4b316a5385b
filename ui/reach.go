package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// reachPoll is how often the window looks at how guests reach the studio
// and at the guest link. Both change without an event of the show: the
// router answers in its own time (and the link then names the router's
// address), a certificate arrives or is renewed. A look is a State and a
// GuestURL, off the UI thread; the widgets change only when the words do.
// A variable only so that TestReachFollowsTheStudio need not wait 2 s a
// look; set it before a window opens.
var reachPoll = 2 * time.Second

// line is one text of the Guests tab's reach block, with its style; an
// empty text hides its label.
type line struct {
	text string
	imp  widget.Importance
}

// reachView is what the Guests tab says about how guests reach the studio:
// the link, and the words of the reach block. It is a comparable value, so
// that the poll tells the UI thread only about a change.
type reachView struct {
	link    string
	way     line // who can join: guests anywhere (and how), or only here
	mapped  line // what the router forwards
	problem line // what keeps guests outside out, and what to do
	cert    line // the certificate guests are served, or the warning they see
}

// viewReach puts st's Reach and Certificate, and the guest link, into
// words. A show that says nothing of either (nil) gets no words for it.
func viewReach(st studio.State, link string) reachView {
	v := reachView{link: link}
	if r := st.Reach; r != nil {
		v.way = reachWay(r)
		if len(r.Mapped) > 0 && !r.Pending {
			v.mapped = line{"The router forwards " + strings.Join(r.Mapped, " and ") + ".", widget.LowImportance}
		}
		if r.Problem != "" && !r.Pending {
			v.problem = line{r.Problem, widget.WarningImportance}
		}
	}
	if c := st.Certificate; c != nil {
		v.cert = certLine(*c, st.Reach, link)
	}
	return v
}

// reachWay says who can join, from Reach.Via in its own words.
func reachWay(r *studio.Reach) line {
	if r.Pending {
		return line{"Checking your router…", widget.LowImportance}
	}
	var at string
	switch r.Via {
	case studio.ReachUPnP, studio.ReachNATPMP, studio.ReachManual:
		if r.PublicIP != "" {
			at = " at " + r.PublicIP
		}
	case studio.ReachDirect:
		if r.PublicIP != "" {
			at = " (" + r.PublicIP + ")"
		}
	case studio.ReachProxy:
		// The proxy's address is the public URL's, in the link.
	default:
		return line{"Only guests on this network can join.", widget.WarningImportance}
	}
	sep := " "
	if r.Via == studio.ReachUPnP || r.Via == studio.ReachNATPMP {
		sep = ": "
	}
	return line{"Guests anywhere can join" + sep + r.Via.Words() + at + ".", widget.SuccessImportance}
}

// selfSignedAdvice is how to spare guests outside the certificate warning
// (issue #9: the window says it plainly, and how to avoid it).
const selfSignedAdvice = "To avoid it, give the studio a domain name (Settings → Network → Domain, or greenroom serve --domain) or put it behind your own HTTPS front (greenroom serve --public-url)."

// certLine says which certificate guests get and, when browsers will warn
// them, that they will and what to do.
func certLine(c studio.CertStatus, r *studio.Reach, link string) line {
	// Behind the user's own HTTPS front guests never see the studio's
	// certificate, whatever it is: the front serves them its own.
	if r != nil && r.Via == studio.ReachProxy && strings.HasPrefix(link, "https://") {
		return line{"Secure link: guests get your public URL's own certificate.", widget.SuccessImportance}
	}
	switch c.Kind {
	case studio.CertACME:
		if c.Err != nil {
			return line{"Secure link for now, but " + sentence(c.Err.Error()), widget.WarningImportance}
		}
		from := ""
		if c.Issuer != "" {
			from = ", from " + c.Issuer
		}
		return line{fmt.Sprintf("Secure link: trusted certificate until %s%s.", c.NotAfter.Format("2 Jan 2006"), from), widget.SuccessImportance}
	case studio.CertFile:
		return line{"Secure link: " + sentence(c.String()), widget.MediumImportance}
	case studio.CertNone:
		return line{"Plain HTTP: only a browser on this computer can join. Guests elsewhere need your own HTTPS front (greenroom serve --public-url).", widget.WarningImportance}
	}
	const warn = "Guests outside this network will see a certificate warning (self-signed)"
	switch {
	case c.Pending:
		return line{"Getting a trusted certificate for " + c.Domain + "… Until it arrives, guests outside this network see a certificate warning (self-signed).", widget.LowImportance}
	case c.Err != nil:
		return line{warn + ": " + sentence(c.Err.Error()), widget.WarningImportance}
	}
	return line{warn + ". " + selfSignedAdvice, widget.WarningImportance}
}

// sentence ends s with a full stop.
func sentence(s string) string {
	return strings.TrimSuffix(s, ".") + "."
}

// newReachLabel is a label of the reach block: wrapped, hidden until it
// has something to say.
func newReachLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// setLine shows ln in l, touching l only if it shows something else.
func setLine(l *widget.Label, ln line) {
	if ln.text == "" {
		if l.Visible() {
			l.Hide()
		}
		return
	}
	if l.Text != ln.text || l.Importance != ln.imp {
		l.Importance = ln.imp
		l.SetText(ln.text) // refreshes, with the importance
	}
	if !l.Visible() {
		l.Show()
	}
}

// showReach shows v in the Guests tab; the link only if link is true (a
// new link made meanwhile is newer than the one v read).
func (t *guestsTab) showReach(v reachView, link bool) {
	if link && v.link != t.link.Text {
		t.link.SetText(v.link)
	}
	setLine(t.way, v.way)
	setLine(t.mapped, v.mapped)
	setLine(t.problem, v.problem)
	setLine(t.cert, v.cert)
	if v.way.text == "" && v.cert.text == "" {
		t.reachTitle.Hide()
	} else {
		t.reachTitle.Show()
	}
}

// watchReach follows how guests reach the studio and the guest link, from
// last, the view shown at start.
func (s *Studio) watchReach(last reachView) {
	s.every(reachPoll, func() {
		// A new link made while this look is under way is newer than the
		// link it reads: the look then leaves the link alone.
		gen := s.guest.links.Load()
		v := viewReach(s.show.State(), s.show.GuestURL())
		if v == last {
			return
		}
		last = v
		s.do(func() { s.guest.showReach(v, s.guest.links.Load() == gen) })
	})
}

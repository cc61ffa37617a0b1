package steps

import "strings"

// The first-connect step's view says up front what will happen — the broker drops the first
// connection while it provisions the device — so the drop reads as the expected outcome, not a
// failure. While the step runs, its progress events (connect, drop, each poll of the
// certificate status) stream in through Session.Report and show live under the spinner.
func init() { extraViews[IDFirstConnect] = firstConnectView }

func firstConnectView(m *Model, width int) string {
	if m.phase != PhaseEdit {
		return ""
	}
	st := m.c.Styles
	lines := []string{
		st.Section.Render("Expected outcome"),
		st.CheckOK.Render(st.Icons.Bullet+" the broker accepts the TLS handshake, then drops the connection") + st.Help.Render(" — it is provisioning the device;"),
		st.Help.Render("  this drop is what AWS IoT does on a certificate's first connection, not an error"),
		st.CheckOK.Render(st.Icons.Bullet+" the certificate then turns ACTIVE") + st.Help.Render(" — the step polls its status live until it does"),
	}
	return st.Explain.Width(width).Render(strings.Join(lines, "\n"))
}

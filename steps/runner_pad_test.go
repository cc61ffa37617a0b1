package steps

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// The title column of run's step lines is measured in terminal cells: a Japanese or Chinese
// title (two cells a character) ends where an English one does.
func TestPadCellsCountsDisplayWidth(t *testing.T) {
	for _, title := range []string{"CA key", "CA 鍵", "CA 密钥", "검증 인증서", "ルート CA 証明書"} {
		if w := ansi.StringWidth(padCells(title, titleCells)); w != titleCells {
			t.Errorf("%q padded to %d cells, want %d", title, w, titleCells)
		}
	}
	long := "プロビジョニングテンプレート" // 28 cells: kept whole
	if got := padCells(long, titleCells); got != long {
		t.Errorf("a long title changed: %q", got)
	}
}

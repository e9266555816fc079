package diff_test

import "fmt"

func fmtSscanf(color string, r, g, b *int) (int, error) {
	return fmt.Sscanf(color, "rgb(%d, %d, %d)", r, g, b)
}

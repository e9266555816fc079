package capture

// BurnCPU is burn (startnow_linux_test.go), for the package's external
// tests.
var BurnCPU = burn

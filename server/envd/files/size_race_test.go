//go:build race

package files

// hugeSize is smaller under the race detector, which slows every byte copied; it is still far above
// what the transfer may allocate, so the tests keep proving that nothing is buffered.
const hugeSize = 256 << 20

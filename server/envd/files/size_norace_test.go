//go:build !race

package files

// hugeSize is the size of the "huge" transfers in the streaming tests.
const hugeSize = 512 << 20

//go:build !linux

package scan

import "context"

// nativeConnector is false off Linux: the engine dials through net.Dialer.
const nativeConnector = false

func (r *run) loopNative(ctx context.Context) error {
	panic("scan: no native connector on this platform") // withDefaults always sets Dial here
}

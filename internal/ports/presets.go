package ports

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Preset is a named port set that users can select by name ("preset:quick").
type Preset struct {
	Name        string   // lower-case, as written after "preset:"
	Description string   // one sentence for the UI, including the port count
	Ports       []uint16 // sorted ascending, unique
}

// Preset names, in the order Presets returns them.
const (
	PresetQuick    = "quick"
	PresetCommon   = "common"
	PresetExtended = "extended"
	PresetAll      = "all"
)

// quickPorts are the brief's reference ports plus the services attackers
// probe first; every one of them must be in the catalog.
var quickPorts = []uint16{
	21, 22, 23, 25, 53, 80, 443, 445, 1433, 2375,
	3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200, 11211, 27017,
}

// presets is built once: "all" is 65535 ports, too many to rebuild per call.
var presets = sync.OnceValue(func() []Preset {
	quick := slices.Clone(quickPorts)
	slices.Sort(quick)

	common := make([]uint16, len(catalog))
	for i, e := range catalog {
		common[i] = e.Port
	}

	extended := make([]uint16, 0, 1023+len(common))
	for p := uint16(1); p <= 1023; p++ {
		extended = append(extended, p)
	}
	for _, p := range common {
		if p > 1023 {
			extended = append(extended, p)
		}
	}

	all := make([]uint16, 0, 65535)
	for p := 1; p <= 65535; p++ {
		all = append(all, uint16(p))
	}

	return []Preset{
		{PresetQuick, fmt.Sprintf("The %d most exposed ports: the reference table plus the services attackers try first.", len(quick)), quick},
		{PresetCommon, fmt.Sprintf("All %d ports in the catalog, each with a security note (the default).", len(common)), common},
		{PresetExtended, fmt.Sprintf("Ports 1-1023 plus the catalog: %d ports.", len(extended)), extended},
		{PresetAll, "Every TCP port, 1-65535 (65535 ports); slow.", all},
	}
})

// Presets returns quick, common, extended and all, in that order.
func Presets() []Preset {
	ps := presets()
	out := make([]Preset, len(ps))
	for i, p := range ps {
		out[i] = p
		out[i].Ports = slices.Clone(p.Ports)
	}
	return out
}

// PresetByName returns the named preset; the name is matched case-insensitively
// and without surrounding spaces.
func PresetByName(name string) (Preset, bool) {
	p, ok := presetByName(name)
	if ok {
		p.Ports = slices.Clone(p.Ports)
	}
	return p, ok
}

// presetByName is PresetByName without the copy, for read-only internal use.
func presetByName(name string) (Preset, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, p := range presets() {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// presetNames lists the preset names for error messages: "quick, common, ...".
func presetNames() string {
	names := make([]string, 0, 4)
	for _, p := range presets() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

package ports

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	catalogPorts := make([]uint16, 0, len(catalog))
	for _, e := range Catalog() {
		catalogPorts = append(catalogPorts, e.Port)
	}
	extended := map[uint16]bool{}
	for p := uint16(1); p <= 1023; p++ {
		extended[p] = true
	}
	for _, p := range catalogPorts {
		extended[p] = true
	}

	ps := Presets()
	gotNames := make([]string, len(ps))
	for i, p := range ps {
		gotNames[i] = p.Name
	}
	if want := []string{"quick", "common", "extended", "all"}; !slices.Equal(gotNames, want) {
		t.Fatalf("preset names = %v, want %v", gotNames, want)
	}

	tests := []struct {
		name      string
		wantCount int
	}{
		{PresetQuick, 20},
		{PresetCommon, len(catalogPorts)},
		{PresetExtended, len(extended)},
		{PresetAll, 65535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := PresetByName(tt.name)
			if !ok {
				t.Fatalf("PresetByName(%q) not found", tt.name)
			}
			if len(p.Ports) != tt.wantCount {
				t.Errorf("%d ports, want %d", len(p.Ports), tt.wantCount)
			}
			if !isSortedUnique(p.Ports) {
				t.Error("ports are not sorted and unique")
			}
			if len(p.Ports) > 0 && p.Ports[0] == 0 {
				t.Error("preset contains port 0")
			}
			if !strings.Contains(p.Description, strconv.Itoa(tt.wantCount)) {
				t.Errorf("description %q does not mention the count %d", p.Description, tt.wantCount)
			}
		})
	}

	t.Run("common is the catalog", func(t *testing.T) {
		p, _ := PresetByName(PresetCommon)
		if !slices.Equal(p.Ports, catalogPorts) {
			t.Error("common preset differs from the catalog's ports")
		}
	})
	t.Run("quick ports are catalogued", func(t *testing.T) {
		p, _ := PresetByName(PresetQuick)
		for _, port := range p.Ports {
			if _, ok := Lookup(port); !ok {
				t.Errorf("quick port %d is not in the catalog", port)
			}
		}
		for _, port := range []uint16{21, 22, 25, 53, 80, 443, 3306, 3389, 5432, 8080, 27017} {
			if !slices.Contains(p.Ports, port) {
				t.Errorf("quick lacks the reference port %d", port)
			}
		}
	})
	t.Run("extended", func(t *testing.T) {
		p, _ := PresetByName(PresetExtended)
		for _, port := range p.Ports {
			if !extended[port] {
				t.Errorf("extended has unexpected port %d", port)
			}
		}
	})
}

func TestPresetByName(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"quick", "quick", true},
		{"COMMON", "common", true},
		{" Extended ", "extended", true},
		{"all", "all", true},
		{"", "", false},
		{"top100", "", false},
		{"preset:quick", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, ok := PresetByName(tt.in)
			if ok != tt.ok || p.Name != tt.want {
				t.Errorf("PresetByName(%q) = %q, %v; want %q, %v", tt.in, p.Name, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestPresetsReturnCopies(t *testing.T) {
	Presets()[0].Ports[0] = 0
	p, _ := PresetByName(PresetQuick)
	p.Ports[1] = 0
	again, _ := PresetByName(PresetQuick)
	if again.Ports[0] == 0 || again.Ports[1] == 0 {
		t.Fatal("callers can modify the shared preset data")
	}
}

func isSortedUnique(ports []uint16) bool {
	for i := 1; i < len(ports); i++ {
		if ports[i] <= ports[i-1] {
			return false
		}
	}
	return true
}

package nmap

import (
	"errors"
	"os"
	"testing"
)

func TestParse(t *testing.T) {
	f, err := os.Open("testdata/two-closed.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint16]Port{1: {1, "closed", "conn-refused"}, 22: {22, "closed", "conn-refused"}}
	if len(res.Ports) != len(want) {
		t.Fatalf("got %v", res.Ports)
	}
	for p, w := range want {
		if res.Ports[p] != w {
			t.Errorf("port %d: %+v, want %+v", p, res.Ports[p], w)
		}
	}
}

func TestParseFolded(t *testing.T) {
	f, err := os.Open("testdata/folded.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Parse(f); !errors.Is(err, ErrFolded) {
		t.Errorf("err = %v, want ErrFolded", err)
	}
}

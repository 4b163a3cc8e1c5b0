package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileMatchesTheBuild reads the Dockerfile (no Docker engine runs
// here) and checks it builds what `make build` builds and runs it as a
// non-root user on a static image.
func TestDockerfileMatchesTheBuild(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	docker, makefile := string(df), string(mk)

	var stages []string
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?`).FindAllStringSubmatch(docker, -1) {
		stages = append(stages, m[1])
	}
	if len(stages) != 2 || !strings.HasPrefix(stages[0], "golang:1.26") || !strings.HasPrefix(stages[1], "gcr.io/distroless/static") || !strings.HasSuffix(stages[1], ":nonroot") {
		t.Errorf("stages %v: want a golang:1.26 build stage and a distroless static nonroot runtime", stages)
	}
	// The same build as make build: static, trimmed, the same package.
	for _, flag := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/vantage", "-X main.version="} {
		if !strings.Contains(docker, flag) {
			t.Errorf("Dockerfile build lacks %q", flag)
		}
		if !strings.Contains(makefile, flag) {
			t.Errorf("Makefile build lacks %q", flag)
		}
	}
	out := regexp.MustCompile(`go build .*-o (\S+) \./cmd/vantage`).FindStringSubmatch(docker)
	copied := regexp.MustCompile(`(?m)^COPY --from=build (\S+) (\S+)$`).FindStringSubmatch(docker)
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindStringSubmatch(docker)
	if out == nil || copied == nil || entry == nil || copied[1] != out[1] || entry[1] != copied[2] {
		t.Errorf("the entrypoint does not run the binary the build stage made: build %v, copy %v, entrypoint %v", out, copied, entry)
	}
	for _, want := range []string{"USER nonroot", "EXPOSE 8080", `VOLUME ["/data"]`, "VANTAGE_DB=/data/vantage.db", `CMD ["serve"]`} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// Package version is the build stamp of Polku binaries, set at link time:
//
//	go build -ldflags "-X github.com/polku-hb/polku/platform/version.Version=v1.2.3 \
//	  -X github.com/polku-hb/polku/platform/version.Commit=$(git rev-parse --short HEAD)"
package version

// Version and Commit are overwritten by -ldflags -X; "dev" and "unknown" mean a
// local build.
var (
	Version = "dev"
	Commit  = "unknown"
)

// String is "Version (Commit)".
func String() string { return Version + " (" + Commit + ")" }

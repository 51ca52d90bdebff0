// Command polku is the all-in-one binary:
//
//	polku dev      run every service, the REST gateway and the web UI on this machine
//	polku bench    the load generator (docs/performance.md)
//	polku token    issue a development token signed with the dev key
//	polku version  print the build version and commit
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/polku-hb/polku/cmd/polku/internal/bench"
	"github.com/polku-hb/polku/cmd/polku/internal/dev"
	"github.com/polku-hb/polku/platform/version"
)

const usage = `usage: polku <command> [flags]

commands:
  dev      run every Polku service, the REST gateway and the web UI (embedded store in ./.data)
  bench    seed a realistic volume, load every scenario, report (docs/performance.md)
  token    issue a development token: polku token -role WORKER -sub w-aino -region pirkanmaa
  version  print the build version and commit

Run 'polku <command> -h' for a command's flags.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "dev":
		err = dev.Run(ctx, os.Args[2:], os.Stdout)
	case "bench":
		err = bench.Run(ctx, os.Args[2:], os.Stdout)
	case "token":
		err = dev.Token(os.Args[2:], os.Stdout)
	case "version", "-version", "--version":
		fmt.Println("polku", version.String())
	case "-h", "--help", "help":
		fmt.Println(usage)
	default:
		fmt.Fprintf(os.Stderr, "polku: unknown command %q\n\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "polku:", err)
		os.Exit(1)
	}
}

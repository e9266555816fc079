package grpcprof_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	grpcprof "github.com/reqprof/reqprof/contrib/grpc"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
)

// A gRPC server with reqprof's interceptors, and the UI on a side
// listener; a client asks for a profile with metadata.
func Example() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)

	p, err := grpcprof.New(httpprof.Options{Enabled: true, Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	srv := grpc.NewServer(p.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, grpchealth.NewServer())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Stop()
	uiLn, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(uiLn, p.UIHandler())

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	var header metadata.MD
	ctx := metadata.AppendToOutgoingContext(context.Background(), grpcprof.MetadataTrigger, "1")
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&header)); err != nil {
		log.Fatal(err)
	}
	p.Close() // waits for the profile to be stored
	_, meta, err := p.HTTP().Store().Get(ctx, header.Get(grpcprof.MetadataID)[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(header.Get(grpcprof.MetadataStatus), meta.Label(profile.AttrRoute), meta.Label(profile.AttrStatus))
	// The profile is at http://<uiLn>/debug/reqprof/p/<id>:
	resp, err := http.Get("http://" + uiLn.Addr().String() + header.Get(grpcprof.MetadataURL)[0])
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// [profiled] /grpc.health.v1.Health/Check 200
	// 200
}

// Command httpserver is the smallest HTTP server with reqprof: one line of
// middleware. Run it, then ask for a profile:
//
//	go run ./examples/httpserver &
//	curl -i 'http://127.0.0.1:8081/hello?profile=true'
//	curl "http://127.0.0.1:8081$(curl -s -o /dev/null -D - 'http://127.0.0.1:8081/hello?profile=true' | sed -n 's/^Reqprof-Url: //Ip' | tr -d '\r')?format=text"
//
// and open http://127.0.0.1:8081/debug/reqprof/ for the list of profiles.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/reqprof/reqprof"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello)

	// The one line: profiling on for this server, triggered per request by
	// ?profile=true (loopback clients only, by default), UI at /debug/reqprof/.
	handler := reqprof.Middleware(reqprof.Options{Enabled: true})(mux)

	log.Printf("listening on http://%s (profiles at http://%s/debug/reqprof/)", *addr, *addr)
	log.Fatal(http.ListenAndServe(*addr, handler))
}

func hello(w http.ResponseWriter, r *http.Request) {
	time.Sleep(12 * time.Millisecond) // a stand-in for a database call
	w.Write([]byte("hello\n"))
}

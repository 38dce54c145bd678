package loadgen_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/routekit/routekit/serve/api"
	"github.com/routekit/routekit/serve/loadgen"
)

func Example() {
	// A stand-in for `routekit serve`.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"model":"small","latency_us":120}`)
	}))
	defer srv.Close()

	bodies, err := loadgen.RouteBodies([]string{"What is 2 plus 2?", "Write a haiku."}, api.RouteRequest{})
	if err != nil {
		panic(err)
	}
	// 100 requests/s for 0.2 s: 20 requests, each measured from its
	// scheduled send time.
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: srv.URL + "/v1/route", Bodies: bodies, Rate: 100, Duration: 200 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("sent:", res.Sent, "ok:", res.OK, "errors:", res.Errors)
	fmt.Println("server p99:", res.Server.P99)
	// Output:
	// sent: 20 ok: 20 errors: 0
	// server p99: 120µs
}

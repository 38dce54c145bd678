// loadfloor: the machine's floor for `make loadtest`'s open-loop figures.
//
// It runs the same exchange as `routekit loadgen --rate` against
// `routekit serve`, with nothing of routekit, Go or HTTP in it: a client
// sends a request of REQ bytes over one TCP loopback connection at a
// constant rate, paced with clock_nanosleep, and a server process echoes
// RESP bytes after busy-working WORK_US microseconds (the route handler's
// CPU time). Latency is measured from each request's scheduled time, as
// loadgen measures it, so a late wake-up of either side counts. Client and
// server block in read(2) between requests, as any server that does not
// burn its cores does, and can be pinned to CPUs like loadtest pins
// routekit's processes.
//
// What it prints is what any server costs on this machine at that rate:
// the wake-ups of two processes on loopback, the kernel's TCP path and
// the scheduling delays of the host. The lower it is, the more of
// routekit's p99 is routekit's.
//
// Build: cc -O2 -o loadfloor scripts/loadfloor.c
// Usage: loadfloor RATE SECONDS WORK_US [SERVER_CPU CLIENT_CPU [REQ RESP]]
//        (a CPU of -1 leaves that side unpinned; REQ 450, RESP 900 bytes)
// Output, one line: rate=.. work_us=.. n=.. p50_us=.. p99_us=.. p999_us=.. max_us=..
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
	fprintf(stderr, "loadfloor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pin(int cpu) {
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		die("sched_setaffinity");
}

// full reads or writes exactly n bytes; it returns 0 at end of stream.
static int full(int fd, char *buf, int n, int writing) {
	for (int done = 0; done < n;) {
		ssize_t k = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die(writing ? "write" : "read");
		if (k == 0)
			return 0;
		done += (int)k;
	}
	return 1;
}

static void serve(int ls, int cpu, int work_us, int req, int resp) {
	pin(cpu);
	int c = accept(ls, NULL, NULL);
	if (c < 0)
		die("accept");
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char *buf = calloc(1, req > resp ? req : resp);
	while (full(c, buf, req, 0)) {
		long long t = now_ns();
		while (now_ns() - t < work_us * 1000LL)
			;
		full(c, buf, resp, 1);
	}
	exit(0);
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	if (argc != 4 && argc != 6 && argc != 8) {
		fprintf(stderr, "usage: loadfloor RATE SECONDS WORK_US [SERVER_CPU CLIENT_CPU [REQ RESP]]\n");
		return 2;
	}
	double rate = atof(argv[1]), secs = atof(argv[2]);
	int work_us = atoi(argv[3]);
	int scpu = argc > 4 ? atoi(argv[4]) : -1, ccpu = argc > 4 ? atoi(argv[5]) : -1;
	int req = argc > 6 ? atoi(argv[6]) : 450, resp = argc > 6 ? atoi(argv[7]) : 900;
	long n = (long)(rate * secs);
	if (rate <= 0 || n < 100 || work_us < 0 || req < 1 || resp < 1) {
		fprintf(stderr, "loadfloor: want RATE*SECONDS >= 100, WORK_US >= 0, REQ and RESP >= 1\n");
		return 2;
	}

	int ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof addr;
	if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&addr, &alen) != 0)
		die("listen on 127.0.0.1");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		serve(ls, scpu, work_us, req, resp);
	close(ls);

	pin(ccpu);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) != 0)
		die("connect");
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char *buf = calloc(1, req > resp ? req : resp);
	long long *lat = malloc(n * sizeof *lat);
	if (buf == NULL || lat == NULL)
		die("malloc");
	memset(buf, 'x', req);

	// A second of warm-up at the same rate, then n measured requests.
	long warm = (long)rate;
	long long t0 = now_ns() + 10000000LL;
	for (long i = 0; i < warm + n; i++) {
		long long due = t0 + (long long)((double)i * 1e9 / rate);
		struct timespec ts = {due / 1000000000LL, due % 1000000000LL};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (!full(s, buf, req, 1) || !full(s, buf, resp, 0)) {
			fprintf(stderr, "loadfloor: the echo server closed the connection\n");
			return 1;
		}
		if (i >= warm)
			lat[i - warm] = now_ns() - due;
	}
	close(s);
	waitpid(child, NULL, 0);

	qsort(lat, n, sizeof *lat, cmp);
	printf("rate=%g work_us=%d n=%ld p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", rate, work_us, n,
	       lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lat[n * 999 / 1000] / 1e3, lat[n - 1] / 1e3);
	return 0;
}

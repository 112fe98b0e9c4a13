/*
 * qlik_sim_main.c - the qlik-sim executable: builds a seeded simulated tenant
 * and serves it over HTTP on a loopback address until SIGINT/SIGTERM.
 *
 * The bound port is written (decimal + newline) to --port-file atomically
 * (temp file + rename) once the server listens.  Signals are blocked in all
 * threads and collected with sigwait() in main, so shutdown is orderly: stop
 * the server, free the tenant, exit 0.
 */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: qlik-sim [--bind 127.0.0.1] [--port N] [--port-file PATH] [--seed N]\n"
		   "                [--users N] [--spaces N] [--apps N] [--data-files N]\n"
		   "                [--data-stores N] [--latency-ms N] [--clock-skew-ms N]\n"
		   "                [--api-key-file PATH] [--empty]\n"
		   "--empty: a tenant with only the caller's user (nothing else seeded); ids come\n"
		   "from --seed: give a second tenant another seed than the first's.\n"
		   "API key: --api-key-file (first line), else $QLIK_SIM_API_KEY, else "
		   "\"sim-admin-key\".\n");
}

static int parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

static char *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[4096];
	char *r = NULL;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = buf, *e;
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (*p)
			r = strdup(p);
	}
	fclose(f);
	return r;
}

static int write_port_file(const char *path, int port)
{
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	if (!tmp)
		return -1;
	snprintf(tmp, n, "%s.tmp%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return -1;
	}
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, 0, 'b' },
		{ "port", required_argument, 0, 'p' },
		{ "port-file", required_argument, 0, 'f' },
		{ "seed", required_argument, 0, 's' },
		{ "users", required_argument, 0, 'u' },
		{ "spaces", required_argument, 0, 'S' },
		{ "apps", required_argument, 0, 'a' },
		{ "data-files", required_argument, 0, 'd' },
		{ "data-stores", required_argument, 0, 'D' },
		{ "latency-ms", required_argument, 0, 'l' },
		{ "clock-skew-ms", required_argument, 0, 'k' },
		{ "api-key-file", required_argument, 0, 'K' },
		{ "empty", no_argument, 0, 'E' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct sim_config cfg = { 0 };
	const char *bind_addr = "127.0.0.1", *port_file = NULL, *key_file = NULL;
	long port = 0, v;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			return 0;
		}
		if (o == 'E') {
			cfg.empty = true;
			continue;
		}
		if (o == 'b' || o == 'f' || o == 'K') {
			if (o == 'b')
				bind_addr = optarg;
			else if (o == 'f')
				port_file = optarg;
			else
				key_file = optarg;
			continue;
		}
		/* the clock skew may be negative (a server clock behind ours) */
		if (o == '?' || parse_long(optarg, &v) || v < (o == 'k' ? -100000000000L : 0) ||
		    v > (o == 'k' ? 100000000000L : 100000000)) {
			usage(stderr);
			return 2;
		}
		switch (o) {
		case 'p': port = v; break;
		case 's': cfg.seed = (unsigned)v; break;
		case 'u': cfg.n_users = (int)v; break;
		case 'S': cfg.n_spaces = (int)v; break;
		case 'a': cfg.n_apps = (int)v; break;
		case 'd': cfg.n_data_files = (int)v; break;
		case 'D': cfg.n_data_stores = (int)v; break;
		case 'l': cfg.latency_ms = v; break;
		case 'k': cfg.clock_skew_ms = v; break;
		default: usage(stderr); return 2;
		}
	}
	if (port > 65535) {
		fprintf(stderr, "qlik-sim: bad port\n");
		return 2;
	}
	char *key = NULL;
	if (key_file) {
		key = read_key(key_file);
		if (!key) {
			fprintf(stderr, "qlik-sim: cannot read an API key from %s\n", key_file);
			return 2;
		}
	} else if (getenv("QLIK_SIM_API_KEY") && *getenv("QLIK_SIM_API_KEY")) {
		key = strdup(getenv("QLIK_SIM_API_KEY"));
	} else {
		key = strdup("sim-admin-key");
	}
	if (!key)
		return 1;
	cfg.api_key = key;

	/* block the signals before any thread starts; main collects them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sim_tenant *t = sim_new(&cfg);
	if (!t) {
		fprintf(stderr, "qlik-sim: out of memory\n");
		free(key);
		return 1;
	}
	void *srv = NULL;
	int bound = 0;
	int rc = sim_server_start(t, bind_addr, (int)port, &bound, &srv);
	if (rc) {
		fprintf(stderr, "qlik-sim: cannot listen on %s:%ld: %s\n", bind_addr, port,
			rc == -EPERM ? "only loopback addresses are allowed" : strerror(-rc));
		sim_free(t);
		free(key);
		return 1;
	}
	if (port_file && write_port_file(port_file, bound)) {
		fprintf(stderr, "qlik-sim: cannot write %s: %s\n", port_file, strerror(errno));
		sim_server_stop(srv);
		sim_free(t);
		free(key);
		return 1;
	}
	fprintf(stderr, "qlik-sim listening on http://%s:%d\n",
		strcmp(bind_addr, "localhost") ? bind_addr : "127.0.0.1", bound);
	int sig = 0;
	sigwait(&set, &sig);
	sim_server_stop(srv);
	sim_free(t);
	free(key);
	return 0;
}

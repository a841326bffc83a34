/*
 * loopback.c - see loopback.h.
 */
#include "loopback.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/http.h"

extern char **environ;

static void server_path(const char *tool, char *buf, size_t size)
{
    const char *bin = getenv("AECS_BIN");
    char tmp[1024];

    if (bin != NULL && bin[0] != '\0') {
        snprintf(tmp, sizeof(tmp), "%s", bin);
        snprintf(buf, size, "%s/tests/tools/%s", dirname(tmp), tool);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", tmp, sizeof(tmp) - 1);
    assert_true(n > 0);
    tmp[n] = '\0';
    snprintf(buf, size, "%s/tools/%s", dirname(tmp), tool);
}

void tu_loopback_start(struct tu_loopback *s, const char *tool, const char *const *args)
{
    char path[1024];
    const char *argv[48];
    size_t n = 0;
    int fds[2];
    posix_spawn_file_actions_t fa;

    memset(s, 0, sizeof(*s));
    server_path(tool, path, sizeof(path));
    argv[n++] = path;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    int rc = posix_spawn(&s->pid, path, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0)
        fail_msg("cannot start %s: %s", path, strerror(rc));

    /* The first line of its output is the port; wait at most 10 s for it. */
    char line[32];
    size_t got = 0;
    while (got < sizeof(line) - 1) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t r = read(fds[0], line + got, 1);
        if (r <= 0 || line[got] == '\n')
            break;
        got++;
    }
    line[got] = '\0';
    close(fds[0]);
    s->port = atoi(line);
    if (s->port <= 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        fail_msg("%s did not print its port", tool);
    }
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

void tu_loopback_stop(struct tu_loopback *s)
{
    int status = 0;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
}

static void get(struct tu_loopback *s, const char *path, struct aecs_http_response *r)
{
    char url[512];
    struct aecs_http_options o;

    aecs_http_options_init(&o);
    o.total_timeout_ms = 40000;
    snprintf(url, sizeof(url), "%s%s", s->url, path);
    assert_int_equal(aecs_http_get(url, &o, r), AECS_OK);
    assert_int_equal(r->status, 200);
}

void tu_loopback_control(struct tu_loopback *s, const char *query)
{
    char path[256];
    struct aecs_http_response r;

    snprintf(path, sizeof(path), "/_control?%s", query);
    get(s, path, &r);
    aecs_http_response_free(&r);
}

json_t *tu_loopback_stats(struct tu_loopback *s)
{
    struct aecs_http_response r;
    json_error_t jerr;
    json_t *j;

    get(s, "/_stats", &r);
    j = json_loadb((const char *)r.body, r.body_size, 0, &jerr);
    aecs_http_response_free(&r);
    assert_non_null(j);
    return j;
}

long tu_loopback_count(struct tu_loopback *s, const char *name)
{
    json_t *j = tu_loopback_stats(s);
    long v;

    assert_true(json_is_integer(json_object_get(j, name)));
    v = (long)json_integer_value(json_object_get(j, name));
    json_decref(j);
    return v;
}

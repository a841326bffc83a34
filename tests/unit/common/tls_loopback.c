/*
 * tls_loopback.c - see tls_loopback.h. The server is spawned with
 * posix_spawnp (python3 from PATH); the first line it prints is its port.
 */
#include "tls_loopback.h"

#include <errno.h>
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

#include "testutil.h"

extern char **environ;

/* The admin key the server checks signatures with (tests/data/keys/admin_p256.pub.pem):
 * `openssl pkey -pubin -in admin_p256.pub.pem -outform DER | sha256sum`. */
#define ADMIN_KEY_ID "0af213ca5258b339c2d66355a52123edfbcc167faea8237c0a2b29489c834a29"

int tu_tls_server_start(struct tu_tls_server *s, const char *dir, const char *cert_name,
                        const char *service_id)
{
    char script[512], cert[512], key[512], pub[512], rel[256], log_tmp[256];
    const char *argv[20];
    size_t n = 0;
    int fds[2];
    posix_spawn_file_actions_t fa;

    memset(s, 0, sizeof(*s));
    tu_src_path(script, sizeof(script), "tests/unit/common/tls_server.py");
    snprintf(rel, sizeof(rel), "tests/data/keys/%s.pem", cert_name);
    tu_src_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "tests/data/keys/%s.key.pem", cert_name);
    tu_src_path(key, sizeof(key), rel);
    tu_src_path(pub, sizeof(pub), "tests/data/keys/admin_p256.pub.pem");
    snprintf(log_tmp, sizeof(log_tmp), "%s/%s-XXXXXX", dir, cert_name);
    int lfd = mkstemp(log_tmp);
    assert_true(lfd >= 0);
    close(lfd);
    snprintf(s->log, sizeof(s->log), "%s", log_tmp);

    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--cert";
    argv[n++] = cert;
    argv[n++] = "--key";
    argv[n++] = key;
    argv[n++] = "--log";
    argv[n++] = s->log;
    argv[n++] = "--pubkey";
    argv[n++] = pub;
    argv[n++] = "--key-id";
    argv[n++] = ADMIN_KEY_ID;
    if (service_id != NULL) {
        argv[n++] = "--service-id";
        argv[n++] = service_id;
    }
    argv[n] = NULL;

    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    int rc = posix_spawnp(&s->pid, "python3", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        s->pid = 0;
        return -1;
    }
    char line[32];
    size_t got = 0;
    while (got < sizeof(line) - 1) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 20000) <= 0)
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
        tu_tls_server_stop(s);
        return -1;
    }
    snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
    return 0;
}

void tu_tls_server_stop(struct tu_tls_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
}

json_t *tu_tls_server_requests(const struct tu_tls_server *s)
{
    json_t *all = json_array();
    size_t size = 0;
    char *text = (char *)tu_read_file(s->log, &size);
    char *line = text;

    assert_non_null(all);
    while (line != NULL && *line != '\0') {
        char *eol = strchr(line, '\n');
        json_error_t err;
        if (eol != NULL)
            *eol = '\0';
        if (*line != '\0') {
            json_t *j = json_loads(line, 0, &err);
            if (j == NULL)
                fail_msg("request log line does not parse: %s", err.text);
            json_array_append_new(all, j);
        }
        line = eol != NULL ? eol + 1 : NULL;
    }
    free(text);
    return all;
}

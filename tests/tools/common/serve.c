/*
 * serve.c - see serve.h.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit((struct event_base *)arg, NULL);
}

int tool_serve(struct event_base *base, void (*handle)(struct evhttp_request *, void *),
               long lifetime_s)
{
    int rc = -1;
    struct evhttp *http = evhttp_new(base);
    struct event *timer = evtimer_new(base, on_stop, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_stop, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_stop, base);
    struct evhttp_bound_socket *sock = NULL;
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    struct timeval tv = {lifetime_s, 0};

    signal(SIGPIPE, SIG_IGN);
    if (http == NULL || timer == NULL || sigterm == NULL || sigint == NULL) {
        fprintf(stderr, "cannot create the HTTP server and its events\n");
        goto out;
    }
    evhttp_set_gencb(http, handle, NULL);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (sock == NULL ||
        getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&addr, &len) != 0) {
        fprintf(stderr, "cannot bind 127.0.0.1\n");
        goto out;
    }
    printf("%u\n", ntohs(addr.sin_port));
    fflush(stdout);
    evtimer_add(timer, &tv);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(base);
    rc = 0;
out:
    if (timer != NULL)
        event_free(timer);
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    if (http != NULL)
        evhttp_free(http);
    return rc;
}

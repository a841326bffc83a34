/*
 * serve.h - the part every loopback test server shares: listen on
 * 127.0.0.1 on a port the system picks, print that port as the first line of
 * stdout (the tests read it), and serve until SIGTERM, SIGINT or the end of a
 * bounded lifetime, so a server a test forgot never outlives it for long.
 */
#ifndef AECS_TEST_TOOLS_SERVE_H
#define AECS_TEST_TOOLS_SERVE_H

#include <event2/event.h>
#include <event2/http.h>

/*
 * Serves requests with `handle` on `base` for at most lifetime_s seconds.
 * Returns 0 when stopped, -1 (with a message on stderr) when it could not start.
 */
int tool_serve(struct event_base *base, void (*handle)(struct evhttp_request *, void *),
               long lifetime_s);

#endif

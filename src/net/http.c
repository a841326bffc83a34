/*
 * http.c - see http.h. A thin layer over libcurl's easy interface: the body
 * and header callbacks append to capped buffers, the retry loop sits around
 * curl_easy_perform, and every failure becomes one message that names the URL.
 */
#include "net/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/codec.h"
#include "base/log.h"

#define MAX_BACKOFF_MS 60000u

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int aecs_http_init(void)
{
    pthread_once(&g_curl_once, curl_init_once);
    ENSURE(g_curl_init_rc == CURLE_OK, AECS_E_INTERNAL, "libcurl initialisation failed: %s",
           curl_easy_strerror(g_curl_init_rc));
    return AECS_OK;
}

void aecs_http_options_init(struct aecs_http_options *opts)
{
    memset(opts, 0, sizeof(*opts));
}

int aecs_http_url_allowed(const char *url)
{
    return url != NULL &&
           (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

/* A growing buffer with a hard cap; `over` is set when the cap would be passed. */
struct capped_buf {
    char *data;
    size_t size;
    size_t cap;
    int over;
};

static int buf_append(struct capped_buf *b, const char *p, size_t n)
{
    if (n > b->cap - b->size) {
        b->over = 1;
        return -1;
    }
    char *grown = realloc(b->data, b->size + n + 1);
    if (grown == NULL)
        return -1;
    b->data = grown;
    memcpy(b->data + b->size, p, n);
    b->size += n;
    b->data[b->size] = '\0';
    return 0;
}

static void buf_reset(struct capped_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->size = 0;
    b->over = 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    size_t n = size * nmemb;

    return buf_append(arg, p, n) == 0 ? n : 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct capped_buf *b = arg;
    size_t n = size * nmemb;

    /* A new status line starts a new response (after a 100 Continue): keep only the last. */
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        buf_reset(b);
    return buf_append(b, p, n) == 0 ? n : 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int transient(CURLcode c)
{
    return c == CURLE_OPERATION_TIMEDOUT || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_COULDNT_RESOLVE_PROXY || c == CURLE_COULDNT_CONNECT;
}

#define SETOPT(h, opt, val)                                                                        \
    do {                                                                                           \
        if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK)                                       \
            BAIL_OUT(AECS_E_INTERNAL, "libcurl rejected option %s", #opt);                        \
    } while (0)

int aecs_http_get(const char *url, const struct aecs_http_options *opts,
                  struct aecs_http_response *resp)
{
    int rc = AECS_OK;
    CURL *h = NULL;
    struct capped_buf body = {0};
    struct capped_buf hdrs = {0};
    char errbuf[CURL_ERROR_SIZE];
    struct aecs_http_options o;
    CURLcode cc = CURLE_OK;
    long status = 0;
    unsigned attempt = 0;
    unsigned backoff = 1000;

    memset(resp, 0, sizeof(*resp));
    ENSURE(url != NULL, AECS_E_INVALID_ARGUMENT, "no URL given");
    ENSURE(aecs_http_url_allowed(url), AECS_E_INVALID_ARGUMENT,
           "%.200s: only http:// and https:// URLs are supported", url);
    if (opts != NULL)
        o = *opts;
    else
        aecs_http_options_init(&o);
    if (o.connect_timeout_ms <= 0)
        o.connect_timeout_ms = AECS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    if (o.total_timeout_ms <= 0)
        o.total_timeout_ms = AECS_HTTP_DEFAULT_TOTAL_TIMEOUT_MS;
    if (o.max_response_size == 0)
        o.max_response_size = AECS_HTTP_DEFAULT_MAX_RESPONSE;
    body.cap = o.max_response_size;
    hdrs.cap = AECS_HTTP_MAX_HEADERS;

    GUARD(aecs_http_init());
    h = curl_easy_init();
    ENSURE(h != NULL, AECS_E_NO_MEMORY, "cannot create a libcurl handle");

    SETOPT(h, CURLOPT_URL, url);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, o.connect_timeout_ms);
    SETOPT(h, CURLOPT_TIMEOUT_MS, o.total_timeout_ms);
    SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o.max_response_size);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(h, CURLOPT_WRITEDATA, &body);
    SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(h, CURLOPT_HEADERDATA, &hdrs);
    SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(h, CURLOPT_USERAGENT, "aecs/0.1");
    if (o.ca_file != NULL)
        SETOPT(h, CURLOPT_CAINFO, o.ca_file);
    if (o.tls_verify_disabled_insecure) {
        SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
        SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
    }

    for (;;) {
        int retry = 0;
        attempt++;
        buf_reset(&body);
        buf_reset(&hdrs);
        errbuf[0] = '\0';
        status = 0;
        cc = curl_easy_perform(h);
        if (cc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            retry = status == 503;
        } else {
            ENSURE_OUT(!body.over && cc != CURLE_FILESIZE_EXCEEDED, AECS_E_TOO_LARGE,
                       "GET %.200s: the response is larger than %zu bytes", url,
                       o.max_response_size);
            ENSURE_OUT(!hdrs.over, AECS_E_TOO_LARGE,
                       "GET %.200s: the response headers are larger than %u bytes", url,
                       AECS_HTTP_MAX_HEADERS);
            retry = transient(cc);
        }
        if (!retry || attempt > o.retry_times)
            break;
        unsigned wait = o.retry_delay_ms ? o.retry_delay_ms : backoff;
        if (cc == CURLE_OK)
            log_info("GET %.200s: HTTP %ld, retrying in %u ms (%u of %u)", url, status, wait,
                     attempt, o.retry_times);
        else
            log_info("GET %.200s: %s, retrying in %u ms (%u of %u)", url,
                     errbuf[0] ? errbuf : curl_easy_strerror(cc), wait, attempt, o.retry_times);
        sleep_ms(wait);
        if (backoff < MAX_BACKOFF_MS)
            backoff *= 2;
    }

    if (cc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        const char *hint = "";
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
            cc == CURLE_SSL_CONNECT_ERROR)
            hint = " (TLS: is the server's certificate trusted by this machine?)";
        if (cc == CURLE_OPERATION_TIMEDOUT)
            BAIL_OUT(AECS_E_IO, "GET %.200s: timed out after %ld ms%s: %.200s", url,
                     o.total_timeout_ms,
                     attempt > 1 ? " on every attempt" : "", why);
        BAIL_OUT(AECS_E_IO, "GET %.200s: %.200s%s%s", url, why, hint,
                 attempt > 1 ? " (after retries)" : "");
    }
    if (body.data == NULL) {
        body.data = calloc(1, 1);
        ENSURE_OUT(body.data != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    if (hdrs.data == NULL) {
        hdrs.data = calloc(1, 1);
        ENSURE_OUT(hdrs.data != NULL, AECS_E_NO_MEMORY, "out of memory");
    }
    resp->status = status;
    resp->body = (uint8_t *)body.data;
    resp->body_size = body.size;
    resp->headers = hdrs.data;
    resp->headers_size = hdrs.size;
    resp->attempts = attempt;
    body.data = NULL;
    hdrs.data = NULL;
out:
    buf_reset(&body);
    buf_reset(&hdrs);
    curl_easy_cleanup(h);
    return rc;
}

void aecs_http_response_free(struct aecs_http_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    free(resp->headers);
    memset(resp, 0, sizeof(*resp));
}

int aecs_http_header(const struct aecs_http_response *resp, const char *name, char **value)
{
    size_t nlen = strlen(name);
    const char *p = resp->headers;

    *value = NULL;
    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            *value = strndup(v, (size_t)(end - v));
            ENSURE(*value != NULL, AECS_E_NO_MEMORY, "out of memory");
            return AECS_OK;
        }
        p = eol ? eol + 1 : NULL;
    }
    return AECS_ERR(AECS_E_NOT_FOUND, "no %.60s header in the response", name);
}

enum aecs_http_line aecs_http_header_line(const char *line, size_t n, const char *name,
                                          const char **value, size_t *value_len)
{
    size_t name_len = strlen(name);
    const char *v;
    size_t len;

    *value = NULL;
    *value_len = 0;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0)
        return AECS_HTTP_LINE_STATUS;
    if (n <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return AECS_HTTP_LINE_OTHER;
    v = line + name_len + 1;
    len = n - name_len - 1;
    while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }
    while (len > 0 &&
           (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    *value = v;
    *value_len = len;
    return AECS_HTTP_LINE_MATCH;
}

int aecs_url_decode(const char *in, size_t len, char **out, size_t *out_size)
{
    char *buf = malloc(len + 1);
    size_t n = 0;

    *out = NULL;
    *out_size = 0;
    ENSURE(buf != NULL, AECS_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            buf[n++] = in[i];
            continue;
        }
        int hi = i + 2 < len ? aecs_hex_digit(in[i + 1]) : -1;
        int lo = i + 2 < len ? aecs_hex_digit(in[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(buf);
            return AECS_ERR(AECS_E_FORMAT, "malformed URL encoding at offset %zu", i);
        }
        buf[n++] = (char)(hi << 4 | lo);
        i += 2;
    }
    buf[n] = '\0';
    *out = buf;
    *out_size = n;
    return AECS_OK;
}

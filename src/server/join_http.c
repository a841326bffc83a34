/*
 * join_http.c - aecsd's transport for joining a cluster (service/join_client.h):
 * one HTTPS request per call with libcurl, the peer's certificate checked
 * against the CA file given (--join-ca; by default the replica's own
 * --tls-cert, since the replicas of one cluster normally share a certificate),
 * host name checked, no redirects, bounded waits and body size. The raw body
 * and every X-Aecs-Answer-Signature header are kept for the signature checks.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "proto/release.h"
#include "server/server.h"
#include "service/join_client.h"

struct sink {
    struct aecs_join_reply *reply;
    size_t cap;
    int too_large;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    struct aecs_join_reply *r = s->reply;
    size_t len = size * n;

    if (r->body_size + len > AECS_JOIN_REPLY_MAX) {
        s->too_large = 1;
        return 0;
    }
    if (r->body_size + len + 1 > s->cap) {
        size_t cap = s->cap == 0 ? 4096 : s->cap;
        char *p;
        while (cap < r->body_size + len + 1)
            cap *= 2;
        p = realloc(r->body, cap);
        if (p == NULL)
            return 0;
        r->body = p;
        s->cap = cap;
    }
    memcpy(r->body + r->body_size, data, len);
    r->body_size += len;
    r->body[r->body_size] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    struct aecs_join_reply *r = s->reply;
    size_t len = size * n, value_len = 0;
    const char *v = NULL;
    enum aecs_http_line kind =
        aecs_http_header_line(data, len, AECS_HDR_ANSWER_SIGNATURE, &v, &value_len);

    /* a new response (after 100 Continue): forget what came before */
    if (kind == AECS_HTTP_LINE_STATUS) {
        r->signature[0] = '\0';
        r->signature_count = 0;
        return len;
    }
    if (kind == AECS_HTTP_LINE_MATCH) {
        r->signature_count++;
        if (value_len < sizeof(r->signature)) {
            memcpy(r->signature, v, value_len);
            r->signature[value_len] = '\0';
        } else {
            r->signature[0] = '\0'; /* unusable: the signature check refuses it */
        }
    }
    return len;
}

static int join_request(void *ctx, const char *url, const char *method, const char *target,
                        const char *body, size_t body_size, struct aecs_join_reply *reply)
{
    const char *ca = ctx;
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    struct sink s;
    char full[2048], err[CURL_ERROR_SIZE];
    size_t ulen = strlen(url);
    CURLcode cc;
    int rc = AECS_OK;

    memset(reply, 0, sizeof(*reply));
    memset(&s, 0, sizeof(s));
    s.reply = reply;
    err[0] = '\0';
    while (ulen > 0 && url[ulen - 1] == '/')
        ulen--;
    ENSURE(strncmp(url, "https://", 8) == 0, AECS_E_INVALID_ARGUMENT,
           "%.200s: a join URL must be https://", url);
    ENSURE(ulen + strlen(target) + 1 < sizeof(full), AECS_E_INVALID_ARGUMENT,
           "%.200s: URL too long", url);
    memcpy(full, url, ulen);
    strcpy(full + ulen, target);
    GUARD(aecs_http_init());
    h = curl_easy_init();
    ENSURE(h != NULL, AECS_E_NO_MEMORY, "out of memory");
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    if (strcmp(method, "POST") == 0) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_size);
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        rc = s.too_large ? AECS_ERR(AECS_E_TOO_LARGE, "%.200s: the answer is larger than %u "
                                                      "bytes", full, AECS_JOIN_REPLY_MAX)
                         : AECS_ERR(AECS_E_IO, "%.200s: %s", full,
                                    err[0] != '\0' ? err : curl_easy_strerror(cc));
        aecs_join_reply_clear(reply);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
    if (reply->body == NULL) {
        reply->body = calloc(1, 1);
        if (reply->body == NULL)
            rc = AECS_ERR(AECS_E_NO_MEMORY, "out of memory");
    }
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

void aecsd_join_transport(const char *ca_file, struct aecs_join_transport *t)
{
    t->ctx = (void *)ca_file;
    t->request = join_request;
}

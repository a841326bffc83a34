/*
 * timeutil.c - RFC 3339 parsing without locale or timezone state: the civil
 * date is converted to days since the epoch arithmetically (proleptic
 * Gregorian), so the result never depends on TZ.
 */
#include "base/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int aecs_time_parse(const char *text, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int Y, M, D, h, m, s;
    const char *p = text;
    int64_t offset = 0;

    ENSURE(strlen(text) >= 20 && digits(p, 4, &Y) && p[4] == '-' && digits(p + 5, 2, &M) &&
               p[7] == '-' && digits(p + 8, 2, &D) && (p[10] == 'T' || p[10] == 't') &&
               digits(p + 11, 2, &h) && p[13] == ':' && digits(p + 14, 2, &m) && p[16] == ':' &&
               digits(p + 17, 2, &s),
           AECS_E_FORMAT, "not an RFC 3339 time: '%.40s' (expected YYYY-MM-DDTHH:MM:SSZ)", text);
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    ENSURE(M >= 1 && M <= 12 && D >= 1 && D <= mdays[M - 1] && (M != 2 || D <= 28 + leap) &&
               h <= 23 && m <= 59 && s <= 60,
           AECS_E_FORMAT, "time out of range: '%.40s'", text);
    p += 19;
    if (*p == '.') {
        p++;
        ENSURE(*p >= '0' && *p <= '9', AECS_E_FORMAT, "bad fraction in time '%.40s'", text);
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else {
        int oh, om;
        ENSURE((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' &&
                   digits(p + 4, 2, &om) && oh <= 23 && om <= 59,
               AECS_E_FORMAT, "time '%.40s' needs a zone (Z or +HH:MM)", text);
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    }
    ENSURE(*p == '\0', AECS_E_FORMAT, "trailing characters in time '%.40s'", text);
    if (s == 60)
        s = 59; /* leap second: clamp, certificates never use it */
    *out = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + s - offset;
    return AECS_OK;
}

void aecs_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "(time out of range)");
}

int64_t aecs_time_now(void)
{
    return (int64_t)time(NULL);
}

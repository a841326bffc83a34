/*
 * attester.c - libFuzzer target for what the attesters read from the kernel:
 * the configfs-tsm generation texts and outblob, the /dev/sev-guest response
 * (MSG_REPORT_RSP) and Gramine's quote, each followed by the evidence check
 * (quote or SNP report parser, platform, report data, VMPL).
 *
 * Input: byte 0 picks the backend and provider (0 tsm/tdx_guest, 1 tsm/sev_guest
 * with privlevel 0, 2 sev-guest, 3 gramine); for tsm, two length-prefixed
 * generation texts (before, after) follow; the rest is the kernel's answer
 * (outblob, the response buffer, the quote). The report data asked for is
 * the answer's bytes at the offsets where the formats carry it, when there
 * are enough, so the check also reaches the success path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attester.h"
#include "base/log.h"

struct fuzz_kernel {
    int sel;
    const uint8_t *gen[2];
    size_t gen_size[2];
    int gen_reads;
    const uint8_t *blob;
    size_t blob_size;
};

static int copy_out(const uint8_t *p, size_t n, size_t max, uint8_t **data, size_t *size)
{
    if (n > max)
        return EFBIG;
    *data = malloc(n + 1);
    if (*data == NULL)
        return ENOMEM;
    if (n > 0)
        memcpy(*data, p, n);
    *size = n;
    return 0;
}

static int k_stat(void *ctx, const char *path, int *is_dir)
{
    (void)ctx;
    *is_dir = strstr(path, "tsm/report") != NULL && strstr(path, "aecs-") == NULL;
    return 0;
}

static int k_read(void *ctx, const char *path, size_t max, uint8_t **data, size_t *size)
{
    struct fuzz_kernel *k = ctx;
    const char *name = strrchr(path, '/') + 1;

    *data = NULL;
    *size = 0;
    if (strcmp(name, "provider") == 0) {
        const char *p = k->sel == 0 ? "tdx_guest\n" : "sev_guest\n";
        return copy_out((const uint8_t *)p, strlen(p), max, data, size);
    }
    if (strcmp(name, "generation") == 0) {
        int i = k->gen_reads++ % 2;
        return copy_out(k->gen[i], k->gen_size[i], max, data, size);
    }
    if (strcmp(name, "attestation_type") == 0)
        return copy_out((const uint8_t *)"dcap", 4, max, data, size);
    if (strcmp(name, "privlevel_floor") == 0)
        return copy_out((const uint8_t *)"0\n", 2, max, data, size);
    return copy_out(k->blob, k->blob_size, max, data, size); /* outblob, quote */
}

static int k_write(void *ctx, const char *path, const uint8_t *data, size_t size)
{
    (void)ctx;
    (void)path;
    (void)data;
    (void)size;
    return 0;
}

static int k_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return 0;
}

static int k_ioctl(void *ctx, const char *path, unsigned long request, void *arg)
{
    struct fuzz_kernel *k = ctx;
    struct aecs_snp_guest_request_ioctl *io = arg;
    size_t n = k->blob_size < AECS_SNP_REPORT_RESP_SIZE ? k->blob_size : AECS_SNP_REPORT_RESP_SIZE;

    (void)path;
    (void)request;
    memcpy((void *)(uintptr_t)io->resp_data, k->blob, n);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"tsm", "tsm", "sev-guest", "gramine"};
    struct fuzz_kernel k;
    struct aecs_attester_ops ops = {
        .ctx = &k,
        .stat = k_stat,
        .read = k_read,
        .write = k_write,
        .mkdir = k_dir,
        .rmdir = k_dir,
        .ioctl = k_ioctl,
    };
    struct aecs_attester_config cfg;
    struct aecs_attester *a = NULL;
    uint8_t rd[64] = {0};
    uint8_t *ev = NULL;
    size_t ev_size = 0;
    enum aecs_evidence_kind kind;

    aecs_log_set_level(AECS_LOG_ERROR);
    if (size < 1)
        return 0;
    memset(&k, 0, sizeof(k));
    k.sel = data[0] % 4;
    data++;
    size--;
    if (k.sel <= 1) {
        for (int i = 0; i < 2; i++) {
            if (size < 1 || size - 1 < data[0])
                return 0;
            k.gen[i] = data + 1;
            k.gen_size[i] = data[0];
            size -= 1 + (size_t)data[0];
            data += 1 + (size_t)data[0];
        }
    }
    k.blob = data;
    k.blob_size = size;
    /* report data where each format has it: SNP 0x50 (+32 in the sev-guest
     * response), SGX 48 + 320, TD 48 + 520 */
    size_t off = k.sel == 1 ? 0x50 : k.sel == 2 ? 32 + 0x50 : k.sel == 3 ? 368 : 568;
    if (size >= off + 64)
        memcpy(rd, data + off, 64);

    memset(&cfg, 0, sizeof(cfg));
    cfg.root = "/fuzz";
    cfg.ops = &ops;
    if (k.sel == 1) {
        cfg.has_privlevel = 1;
        cfg.privlevel = 0;
    }
    if (aecs_attester_open(names[k.sel], &cfg, &a) != AECS_OK)
        __builtin_trap();
    if (aecs_attester_evidence(a, rd, &ev, &ev_size, &kind) == AECS_OK) {
        if (ev == NULL || kind == AECS_EVIDENCE_UNKNOWN)
            __builtin_trap();
    } else if (ev != NULL) {
        __builtin_trap();
    }
    free(ev);
    aecs_attester_free(a);
    return 0;
}

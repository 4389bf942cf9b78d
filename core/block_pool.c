/* block_pool.c — a mutex, one free list per block size, a byte cap. */
#include "block_pool.h"

#include <string.h>
#include <sys/mman.h>

int sl_block_pool_init(sl_block_pool *p, size_t cap_bytes)
{
    memset(p, 0, sizeof *p);
    p->cap_bytes = cap_bytes;
    return pthread_mutex_init(&p->mu, NULL) ? -1 : 0;
}

void *sl_block_pool_get(sl_block_pool *p, size_t size)
{
    void *b = NULL;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < SL_BLOCK_POOL_SIZES; i++) {
        if (p->free[i].size == size && p->free[i].head) {
            b = p->free[i].head;
            memcpy(&p->free[i].head, b, sizeof(void *));
            p->cached_bytes -= size;
            p->reused++;
            break;
        }
    }
    if (!b)
        p->mapped++;
    pthread_mutex_unlock(&p->mu);
    if (b)
        return b;
    b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return b == MAP_FAILED ? NULL : b;
}

void sl_block_pool_put(sl_block_pool *p, void *block, size_t size)
{
    pthread_mutex_lock(&p->mu);
    int slot = -1;
    if (p->cached_bytes + size <= p->cap_bytes) {
        for (int i = 0; i < SL_BLOCK_POOL_SIZES && slot < 0; i++)
            if (p->free[i].size == size)
                slot = i;
        for (int i = 0; i < SL_BLOCK_POOL_SIZES && slot < 0; i++)
            if (!p->free[i].head) {
                slot = i;
                p->free[i].size = size;
            }
    }
    if (slot >= 0) {
        memcpy(block, &p->free[slot].head, sizeof(void *));
        p->free[slot].head = block;
        p->cached_bytes += size;
    }
    pthread_mutex_unlock(&p->mu);
    if (slot < 0)
        munmap(block, size);
}

void sl_block_pool_destroy(sl_block_pool *p)
{
    for (int i = 0; i < SL_BLOCK_POOL_SIZES; i++) {
        for (void *b = p->free[i].head, *n; b; b = n) {
            memcpy(&n, b, sizeof n);
            munmap(b, p->free[i].size);
        }
        p->free[i].head = NULL;
    }
    p->cached_bytes = 0;
    pthread_mutex_destroy(&p->mu);
}

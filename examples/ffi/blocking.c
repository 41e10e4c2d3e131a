/*
 * A C library that blocks in libc, as the seeds' sleep.so does: it knows
 * nothing about verde. Built by the root build.rs into a static library
 * (linked into the examples and tests that declare it) and into a shared
 * library that the tests load with dlopen.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* Blocks the calling thread in sleep(3) for `seconds`. */
unsigned int verde_ffi_sleep(unsigned int seconds) {
    return sleep(seconds);
}

/*
 * Connects to 127.0.0.1:`port`, sends `request`, and reads the reply into
 * `reply` (at most `cap` bytes) until the peer closes. Returns the reply's
 * length, or -1 on error.
 */
long verde_ffi_fetch(unsigned short port, const char *request, char *reply, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    size_t len = strlen(request);
    if (send(fd, request, len, 0) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t n = recv(fd, reply + got, cap - got, 0);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (long)got;
}

// Stand-in for the nginx of critest's e2e-test-images/nginx: what critest relies on, no more.
// A process named "nginx" whose PID 1 command line says "master process", that writes its pid
// to /var/run/nginx.pid and answers every HTTP request with 200 and index.html. The port comes
// from the "listen" line of /etc/nginx/conf.d/default.conf, as nginx's would.
// Built statically by make_critest_images.py.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char kTitle[] = "nginx: master process nginx -g daemon off;";

static int ListenPort(void) {
  FILE* f = fopen("/etc/nginx/conf.d/default.conf", "r");
  char line[256];
  int port = 80;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    const char* p = strstr(line, "listen");
    if (p != NULL && sscanf(p, "listen %d", &port) == 1) break;
  }
  if (f != NULL) fclose(f);
  return port;
}

static size_t ReadIndex(char* buf, size_t size) {
  FILE* f = fopen("/usr/share/nginx/html/index.html", "r");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, size, f);
  fclose(f);
  return n;
}

int main(int argc, char** argv) {
  (void)argc;
  // nginx rewrites its command line to its title; re-exec under it once.
  if (strcmp(argv[0], kTitle) != 0) {
    char* args[] = {(char*)kTitle, NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  FILE* pid_file = fopen("/var/run/nginx.pid", "w");
  if (pid_file != NULL) {
    fprintf(pid_file, "%d\n", (int)getpid());
    fclose(pid_file);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ListenPort())};
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 64) != 0) {
    perror("nginx: bind/listen");
    return 1;
  }
  static char body[65536];
  size_t body_len = ReadIndex(body, sizeof body);
  for (;;) {
    int conn = accept(fd, NULL, NULL);
    if (conn < 0) continue;
    char request[4096];
    (void)!read(conn, request, sizeof request);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     body_len);
    (void)!write(conn, head, (size_t)n);
    (void)!write(conn, body, body_len);
    close(conn);
  }
}

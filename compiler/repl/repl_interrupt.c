/* repl_interrupt.c - see repl_interrupt.h. */
#include "repl.h"

#include <signal.h>
#include <stddef.h>

static volatile sig_atomic_t pressed;
static struct sigaction previous;
static bool installed;

static void on_sigint(int sig) {
  (void)sig;
  pressed = 1;
}

void repl_interrupt_install(void) {
  /* No SA_RESTART: the terminal read returns, so an abandoned line can be
   * dropped at once instead of when Enter is pressed. */
  struct sigaction sa = {.sa_handler = on_sigint};
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, &previous) == 0)
    installed = true;
}

void repl_interrupt_remove(void) {
  if (installed)
    sigaction(SIGINT, &previous, NULL);
  installed = false;
}

bool repl_interrupt_take(void) {
  bool was = pressed;
  pressed = 0;
  return was;
}

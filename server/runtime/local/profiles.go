package local

// The SDKs run every command as `/bin/bash -l -c …`, so whatever the login profile does is paid on
// every command. A host's profile can be slow (version managers, completions), and it belongs to the
// host anyway: sandboxes get these lean files of their own instead. /etc/profile.d starts empty; a
// template that needs an environment drops a script there.

// profileMarker is in every file below, so that a test (or a person) can tell them from the host's.
const profileMarker = "sandbox lean profile"

const etcProfile = `# /etc/profile: ` + profileMarker + `.
# Every SDK command runs through bash -l, so this file stays small and fast.
if [ "${EUID:-$(id -u)}" -eq 0 ]; then
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
else
  PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
fi
export PATH

if [ "${PS1-}" ] && [ "${BASH-}" ] && [ "$BASH" != "/bin/sh" ] && [ -f /etc/bash.bashrc ]; then
  . /etc/bash.bashrc
fi

for i in /etc/profile.d/*.sh; do
  [ -r "$i" ] && . "$i"
done
unset i
`

const etcBashrc = `# /etc/bash.bashrc: ` + profileMarker + `.
[ -z "${PS1-}" ] && return
shopt -s checkwinsize
PS1='\u@\h:\w\$ '
`

const homeProfile = `# ~/.profile: ` + profileMarker + `.
if [ -n "${BASH_VERSION-}" ] && [ -f "$HOME/.bashrc" ]; then
  . "$HOME/.bashrc"
fi
if [ -d "$HOME/.local/bin" ]; then
  PATH="$HOME/.local/bin:$PATH"
fi
`

const homeBashrc = `# ~/.bashrc: ` + profileMarker + `.
case $- in
  *i*) ;;
  *) return ;;
esac
HISTCONTROL=ignoreboth
alias ls='ls --color=auto'
`

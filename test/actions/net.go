package main

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

func init() {
	actions["connect"] = action{"PORT: connect a TCP socket to 127.0.0.1:PORT", 1, func(a []string) (map[string]any, error) {
		port, err := strconv.Atoi(a[0])
		if err != nil {
			return nil, err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
		return map[string]any{"fd": fd}, err
	}}
	actions["connect6"] = action{"PORT: connect a TCP socket to [::1]:PORT", 1, func(a []string) (map[string]any, error) {
		port, err := strconv.Atoi(a[0])
		if err != nil {
			return nil, err
		}
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		err = unix.Connect(fd, &unix.SockaddrInet6{Port: port, Addr: [16]byte(net.IPv6loopback)})
		return map[string]any{"fd": fd}, err
	}}
	actions["sendto-unix"] = action{"PATH: bind an AF_UNIX datagram socket at PATH, sendto it from another", 1, func(a []string) (map[string]any, error) {
		rfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(rfd)
		if err := unix.Bind(rfd, &unix.SockaddrUnix{Name: a[0]}); err != nil {
			return nil, err
		}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		err = unix.Sendto(fd, []byte("vigil"), 0, &unix.SockaddrUnix{Name: a[0]})
		return map[string]any{"fd": fd}, err
	}}
	actions["dup2-socket"] = action{": open a TCP socket and dup2 it onto fd 0 (dup3 on arm64, which has no dup2)", 0, func([]string) (map[string]any, error) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return nil, err
		}
		return map[string]any{"fd": fd}, dupOnto(fd, 0)
	}}
	actions["socket-packet"] = action{": socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)", 0, func([]string) (map[string]any, error) {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return nil, err
		}
		unix.Close(fd)
		return map[string]any{"fd": fd}, nil
	}}
	actions["sendmsg-udp"] = action{"PORT: sendmsg a UDP datagram to 127.0.0.1:PORT", 1, func(a []string) (map[string]any, error) {
		port, err := strconv.Atoi(a[0])
		if err != nil {
			return nil, err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		_, err = unix.SendmsgN(fd, []byte("vigil"), nil, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}, 0)
		return map[string]any{"fd": fd}, err
	}}
	actions["serve-connect"] = action{"IP PORT: listen on IP:PORT, connect a TCP socket to it, accept, close", 2, serveConnect}
	actions["listen-accept"] = action{": listen on 127.0.0.1 (ephemeral port), connect to it, accept", 0, listenAccept}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// listenLoopback listens with backlog on an ephemeral port of family's
// loopback address (AF_INET or AF_INET6) and returns the socket and the
// address it is bound to.
func listenLoopback(family, backlog int) (int, unix.Sockaddr, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, nil, err
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if family == unix.AF_INET6 {
		sa = &unix.SockaddrInet6{Addr: [16]byte(net.IPv6loopback)}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if sa, err = unix.Getsockname(fd); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, sa, nil
}

func listenAccept([]string) (map[string]any, error) {
	lfd, sa, err := listenLoopback(unix.AF_INET, 7)
	if err != nil {
		return nil, err
	}
	defer unix.Close(lfd)
	port := sa.(*unix.SockaddrInet4).Port
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return nil, err
	}
	afd, peer, err := unix.Accept4(lfd, 0)
	if err != nil {
		return nil, err
	}
	unix.Close(afd)
	return map[string]any{"listen_fd": lfd, "port": port, "client_fd": cfd, "accept_fd": afd,
		"peer_port": peer.(*unix.SockaddrInet4).Port}, nil
}

func serveConnect(a []string) (map[string]any, error) {
	ip := net.ParseIP(a[0]).To4()
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IPv4 address", a[0])
	}
	port, err := strconv.Atoi(a[1])
	if err != nil {
		return nil, err
	}
	addr := &unix.SockaddrInet4{Port: port, Addr: [4]byte(ip)}
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(lfd)
	if err := unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return nil, err
	}
	if err := unix.Bind(lfd, addr); err != nil {
		return nil, err
	}
	if err := unix.Listen(lfd, 1); err != nil {
		return nil, err
	}
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, addr); err != nil {
		return nil, err
	}
	afd, _, err := unix.Accept4(lfd, 0)
	if err != nil {
		return nil, err
	}
	unix.Close(afd)
	return map[string]any{"listen_fd": lfd, "client_fd": cfd, "port": port}, nil
}

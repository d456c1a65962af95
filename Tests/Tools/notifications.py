#!/usr/bin/python3
"""The tests' side of a notification server on a private session bus (DBUS_SESSION_BUS_ADDRESS).

  notifications.py serve CAPABILITIES   run python-dbusmock's notification_daemon template
  notifications.py hang                 own org.freedesktop.Notifications and never answer
  notifications.py calls                print the mock's recorded calls as JSON lines
  notifications.py clear                forget the recorded calls
  notifications.py emit ID ACTION       emit ActionInvoked(ID, ACTION) as a server does on a click
  notifications.py owner                exit 0 once the name has an owner (waits up to 10 s)
"""
import json
import os
import sys
import time

import dbus

NAME = 'org.freedesktop.Notifications'
PATH = '/org/freedesktop/Notifications'


def mock():
    bus = dbus.SessionBus()
    return dbus.Interface(bus.get_object(NAME, PATH), 'org.freedesktop.DBus.Mock')


def plain(value):
    if isinstance(value, dbus.Dictionary):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Byte, dbus.Int32, dbus.UInt32, dbus.Int64, dbus.UInt64, dbus.Int16, dbus.UInt16)):
        return int(value)
    return str(value)


def main(args):
    command = args[0]
    if command == 'serve':
        caps = args[1] if len(args) > 1 else 'body actions'
        os.execv(sys.executable, [sys.executable, '-m', 'dbusmock', '--session', '--template',
                                  'notification_daemon', '-p', json.dumps({'capabilities': caps})])
    elif command == 'hang':
        bus = dbus.SessionBus()
        bus.request_name(NAME)
        print('owned', flush=True)
        time.sleep(3600)
    elif command == 'calls':
        for _, method, arguments in mock().GetCalls():
            print(json.dumps([str(method)] + plain(arguments)))
    elif command == 'clear':
        mock().ClearCalls()
    elif command == 'emit':
        mock().EmitSignal(NAME, 'ActionInvoked', 'us', [dbus.UInt32(int(args[1])), args[2]])
    elif command == 'owner':
        bus = dbus.SessionBus()
        for _ in range(200):
            if bus.name_has_owner(NAME):
                return 0
            time.sleep(0.05)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

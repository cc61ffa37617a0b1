"""Drives the local broker with Debian's python3-paho-mqtt (1.6), as MQTT 3.1.1
and MQTT 5, and prints what the client saw (TestPahoPythonTakeoverAndDenials
reads it). Usage: paho_check.py HOST PORT CAFILE CERT KEY THING"""
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

HOST, PORT, CA, CERT, KEY, THING = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
WAIT = 10


def client(protocol):
    c = mqtt.Client(client_id=THING, protocol=protocol)
    c.tls_set(ca_certs=CA, certfile=CERT, keyfile=KEY)
    c.connected = threading.Event()
    c.gone = threading.Event()
    c.gone_rc = None
    if protocol == mqtt.MQTTv5:
        def on_connect(cl, ud, flags, rc, props):
            if rc == 0:
                cl.connected.set()

        def on_disconnect(cl, ud, rc, props=None):
            cl.gone_rc = rc
            cl.gone.set()
    else:
        def on_connect(cl, ud, flags, rc):
            if rc == 0:
                cl.connected.set()

        def on_disconnect(cl, ud, rc):
            cl.gone_rc = rc
            cl.gone.set()
    c.on_connect = on_connect
    c.on_disconnect = on_disconnect
    return c


def start(c):
    if c._protocol == mqtt.MQTTv5:
        c.connect(HOST, PORT, 60, clean_start=True)
    else:
        c.connect(HOST, PORT, 60)
    c.loop_start()
    if not c.connected.wait(WAIT):
        sys.exit("connect timed out")


def stop(c):
    c.disconnect()
    c.loop_stop()


def takeover(protocol, label):
    old, new = client(protocol), client(protocol)
    start(old)
    start(new)
    if not old.gone.wait(WAIT):
        sys.exit(label + ": the old connection was not closed")
    rc = old.gone_rc
    old.loop_stop()
    if protocol == mqtt.MQTTv5:
        print("%s: reason=%d %s" % (label, rc.value, rc), flush=True)
    else:
        print("%s: rc=%d (%s)" % (label, rc, mqtt.error_string(rc)), flush=True)
    stop(new)


takeover(mqtt.MQTTv311, "v311 takeover")
takeover(mqtt.MQTTv5, "v5 takeover")

c = client(mqtt.MQTTv5)
subscribed, published, received = threading.Event(), threading.Event(), threading.Event()
codes, messages = [], []


def on_subscribe(cl, ud, mid, reason_codes, props):
    codes.extend(rc.value for rc in reason_codes)
    subscribed.set()


def on_publish(cl, ud, mid):
    published.set()


def on_message(cl, ud, msg):
    messages.append("%s %s" % (msg.topic, msg.payload.decode()))
    received.set()


c.on_subscribe, c.on_publish, c.on_message = on_subscribe, on_publish, on_message
start(c)
c.subscribe([(THING + "/in", SubscribeOptions(qos=1)), ("OtherThing/in", SubscribeOptions(qos=1))])
if not subscribed.wait(WAIT):
    sys.exit("no SUBACK")
print("v5 forbidden subscribe: " + ",".join(str(x) for x in codes), flush=True)
c.publish("OtherThing/test", b"x", qos=1)
if not published.wait(WAIT):
    sys.exit("no PUBACK for the forbidden publish")
c.publish(THING + "/in", b"hello", qos=1)
if not received.wait(WAIT):
    sys.exit("the allowed message never came back (connection closed after the forbidden publish?)")
print("v5 forbidden publish: connected=%s" % c.is_connected(), flush=True)
print("v5 allowed message: " + messages[0], flush=True)
stop(c)

"""Build the labelled search set (benchmarks/search_data/labelled_set.json), deterministically.

Tickets are written from 26 helpdesk topics, each with English and Chinese subjects and
descriptions (several phrasings, so not every ticket of a topic shares the query's words), a
unique order number, and filler sentences shared by all topics. About a fifth of the Chinese
tickets are written in traditional characters (converted with the unambiguous part of the
OpenCC table the engine uses, reversed). Queries are hand-written per topic: English, Chinese
(simplified and traditional), typos, partial words, order numbers and mixed-language queries.

Relevance grades: 2 = the query's topic in the query's language (for order numbers: the ticket
with that number), 1 = the query's topic in the other language (lexically unreachable, but a
searcher would want it). Run: ``python benchmarks/search_data/make_labelled_set.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from helpdesk_core.text.trad_simp_table import SIMPLIFIED, TRADITIONAL

OUT = Path(__file__).with_name("labelled_set.json")

# topic: (english subjects, english details, chinese subjects, chinese details)
TOPICS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "refund_delay": (
        ["Refund not received", "Where is my refund?", "Refund still pending after return"],
        [
            "I returned the item two weeks ago and the refund has not arrived on my card.",
            "The money for my cancelled order was never refunded.",
            "Customer says the reimbursement for the returned shoes is overdue.",
        ],
        ["退款还没到账", "退款一直没收到", "退货后退款迟迟未处理"],
        [
            "两周前已经退货，但是退款还没有到银行卡。",
            "取消的订单钱一直没有退回来。",
            "客户反映退回的鞋子款项超时未退。",
        ],
    ),
    "parcel_damaged": (
        ["Parcel arrived damaged", "Broken item in the box", "Package crushed in delivery"],
        [
            "The box was crushed and the glass vase inside is broken.",
            "Item arrived with a cracked screen, packaging torn.",
            "Courier delivered a damaged parcel, contents shattered.",
        ],
        ["包裹到货破损", "收到的商品是坏的", "快递压坏了包装"],
        [
            "箱子被压扁，里面的玻璃花瓶碎了。",
            "收到时屏幕有裂痕，包装也破了。",
            "快递送来的包裹损坏，东西都碎了。",
        ],
    ),
    "delivery_late": (
        ["Delivery is late", "Order not delivered yet", "Shipping delay on my order"],
        [
            "Tracking has not updated for five days and the delivery date passed.",
            "The courier said delivery would be Monday, still nothing.",
            "My shipment is stuck at the sorting centre.",
        ],
        ["物流太慢还没送到", "订单迟迟没有发货", "快递延误"],
        [
            "物流信息五天没有更新，已经过了预计送达时间。",
            "快递说周一送到，到现在还没有。",
            "包裹一直卡在分拣中心。",
        ],
    ),
    "password_reset": (
        ["Cannot reset my password", "Password reset email never arrives", "Locked out of account"],
        [
            "The reset link says expired every time I click it.",
            "I requested a password reset three times and got no email.",
            "After too many login attempts my account is locked.",
        ],
        ["无法重置密码", "收不到重置密码的邮件", "账号被锁定"],
        [
            "每次点重置链接都提示已过期。",
            "申请了三次重置密码都没有收到邮件。",
            "登录失败次数太多，账户被锁住了。",
        ],
    ),
    "invoice_wrong": (
        [
            "Invoice has the wrong amount",
            "Need a corrected invoice",
            "VAT number missing on invoice",
        ],
        [
            "The invoice total does not match what I paid.",
            "Please issue a corrected invoice with our company name.",
            "Our tax ID is missing from the invoice, finance needs it.",
        ],
        ["发票金额不对", "需要重开发票", "发票上没有税号"],
        [
            "发票总额和实际支付的不一致。",
            "请重新开具带公司抬头的发票。",
            "发票缺少我们的纳税人识别号，财务需要。",
        ],
    ),
    "double_charge": (
        ["Charged twice for one order", "Duplicate payment on my card", "Double charge"],
        [
            "My credit card shows two identical charges for the same order.",
            "The payment went through twice, please reverse one.",
            "Bank statement has a duplicate transaction from your shop.",
        ],
        ["同一订单被扣款两次", "重复扣款", "信用卡被扣了两次钱"],
        [
            "信用卡上同一个订单有两笔相同的扣款。",
            "付款重复了，请撤销一笔。",
            "银行流水显示你们店铺重复扣费。",
        ],
    ),
    "wrong_item": (
        ["Received the wrong item", "Wrong size sent", "Item does not match the order"],
        [
            "I ordered a blue jacket and received a red one.",
            "You sent size M but I ordered size L.",
            "The product in the box is a different model from my order.",
        ],
        ["发错货了", "尺码发错", "收到的商品和订单不符"],
        [
            "我买的是蓝色外套，收到的是红色的。",
            "我订的是L码，寄来的是M码。",
            "盒子里的产品型号和订单不一样。",
        ],
    ),
    "app_crash": (
        ["App crashes on startup", "Mobile app keeps crashing", "App freezes when I open my cart"],
        [
            "The Android app closes immediately after the splash screen.",
            "Since the last update the iPhone app crashes when I tap orders.",
            "Application hangs and then quits while loading the shopping cart.",
        ],
        ["APP一打开就闪退", "手机应用总是崩溃", "打开购物车时APP卡死"],
        [
            "安卓APP启动画面之后马上闪退。",
            "更新后苹果手机点订单就崩溃。",
            "加载购物车时应用卡住然后退出。",
        ],
    ),
    "coupon_invalid": (
        ["Coupon code not working", "Discount code rejected at checkout", "Voucher invalid"],
        [
            "The coupon code from the newsletter says invalid at checkout.",
            "My discount was not applied even though the code is valid until Friday.",
            "Gift voucher shows as already used but I never used it.",
        ],
        ["优惠券无法使用", "结账时折扣码无效", "代金券显示已使用"],
        [
            "邮件里的优惠券在结账时提示无效。",
            "折扣码周五才过期，但是没有抵扣。",
            "礼品券显示已经用过，可是我从来没用过。",
        ],
    ),
    "address_change": (
        [
            "Change delivery address",
            "Wrong shipping address on order",
            "Update address before shipping",
        ],
        [
            "I entered my old address, can you change it before the order ships?",
            "Please update the shipping address to my office.",
            "The address on the order is wrong, the street number is missing.",
        ],
        ["修改收货地址", "订单地址填错了", "发货前更改地址"],
        [
            "我填了旧地址，能在发货前改一下吗？",
            "请把收货地址改成我公司。",
            "订单上的地址不对，少了门牌号。",
        ],
    ),
    "cancel_order": (
        ["Cancel my order", "Order cancellation request", "Want to cancel before shipment"],
        [
            "I ordered by mistake, please cancel it.",
            "Please cancel the order, I found it cheaper elsewhere.",
            "Can I still cancel? It has not shipped yet.",
        ],
        ["取消订单", "申请取消订单", "发货前想取消"],
        ["我下错单了，请帮我取消。", "请取消订单，别处更便宜。", "还没发货，还能取消吗？"],
    ),
    "warranty_repair": (
        ["Warranty repair request", "Product broke within warranty", "Need repair under guarantee"],
        [
            "My headphones stopped working after three months, they are under warranty.",
            "The blender motor burned out, can it be repaired under guarantee?",
            "Left earbud has no sound, warranty claim please.",
        ],
        ["保修维修申请", "保修期内产品坏了", "需要保内维修"],
        [
            "耳机用了三个月就坏了，还在保修期内。",
            "搅拌机电机烧了，能保修吗？",
            "左耳机没有声音，申请保修。",
        ],
    ),
    "login_2fa": (
        ["Two-factor code not received", "SMS verification code missing", "2FA not working"],
        [
            "I never get the SMS code when logging in.",
            "Verification code arrives after it has expired.",
            "Authenticator codes are rejected as invalid.",
        ],
        ["收不到验证码", "短信验证码没收到", "双重验证失败"],
        [
            "登录时一直收不到短信验证码。",
            "验证码到的时候已经过期了。",
            "身份验证器的验证码总是提示无效。",
        ],
    ),
    "membership_points": (
        ["Loyalty points missing", "Points not credited", "Membership level wrong"],
        [
            "My loyalty points for last month's purchases are missing.",
            "I did not get points for the order, please credit them.",
            "I should be gold member but the account shows silver.",
        ],
        ["会员积分没到账", "积分没有累计", "会员等级不对"],
        [
            "上个月消费的积分不见了。",
            "这笔订单没有给我积分，请补上。",
            "我应该是金卡会员，账户显示银卡。",
        ],
    ),
    "product_question": (
        ["Is this charger compatible?", "Question about product size", "Battery life question"],
        [
            "Does the 65W charger work with my laptop model?",
            "What are the exact dimensions of the sofa?",
            "How long does the battery last on a full charge?",
        ],
        ["充电器兼容吗", "咨询产品尺寸", "电池续航多久"],
        ["65W充电器能用在我的笔记本上吗？", "沙发的具体尺寸是多少？", "充满电电池能用多长时间？"],
    ),
    "return_label": (
        ["Need a return label", "How do I return an item?", "Return shipping label not working"],
        [
            "Please send me a prepaid return label.",
            "What is the return process for an unopened item?",
            "The return label barcode cannot be scanned at the post office.",
        ],
        ["需要退货单", "怎么退货", "退货面单无法使用"],
        ["请发给我一个预付的退货面单。", "没拆封的商品怎么退？", "邮局扫不了退货单上的条码。"],
    ),
    "subscription_cancel": (
        ["Cancel subscription", "Stop automatic renewal", "Unsubscribe from monthly plan"],
        [
            "Please stop my subscription from renewing next month.",
            "I was charged for automatic renewal that I turned off.",
            "How do I end the monthly plan?",
        ],
        ["取消订阅", "关闭自动续费", "退订月度套餐"],
        ["请停止下个月的自动续订。", "我已经关闭了自动续费还是被扣钱了。", "怎么取消月度套餐？"],
    ),
    "data_privacy": (
        ["Delete my personal data", "GDPR data request", "Remove my account and data"],
        [
            "Please delete all personal information you hold about me.",
            "I want a copy of my data under GDPR.",
            "Close my account and erase my data.",
        ],
        ["删除个人信息", "申请查看个人数据", "注销账号并删除数据"],
        [
            "请删除你们保存的我的所有个人信息。",
            "我想要一份我的个人数据副本。",
            "注销我的账户并清除数据。",
        ],
    ),
    "missing_parts": (
        ["Missing parts in package", "Screws missing from furniture kit", "Accessory not included"],
        [
            "The bookshelf kit arrived without the screws.",
            "The charger cable was not in the box.",
            "Two parts of the wardrobe are missing.",
        ],
        ["包裹缺少配件", "家具少了螺丝", "没有附带配件"],
        ["书架套件里没有螺丝。", "盒子里没有充电线。", "衣柜少了两个零件。"],
    ),
    "price_adjust": (
        ["Price dropped after purchase", "Price match request", "Price protection"],
        [
            "The price dropped by 20 dollars a day after I bought it.",
            "Another shop sells it cheaper, can you match the price?",
            "Do you offer price protection for last week's order?",
        ],
        ["买完就降价了", "申请价格匹配", "价格保护"],
        ["我刚买完第二天就降了20块。", "别的店更便宜，能保价吗？", "上周的订单可以申请价保吗？"],
    ),
    "slow_support": (
        ["No reply from support", "Complaint about slow service", "Waiting too long for an answer"],
        [
            "I emailed support three times and nobody answered.",
            "Your agents take days to respond, this is unacceptable.",
            "I have been waiting a week for a callback.",
        ],
        ["客服不回复", "投诉服务太慢", "等待回复太久"],
        [
            "我给客服发了三次邮件都没人回复。",
            "客服好几天才回复，太不负责了。",
            "等回电等了一个星期。",
        ],
    ),
    "gift_card": (
        ["Gift card balance wrong", "Gift card not activated", "Cannot redeem gift card"],
        [
            "My gift card balance shows zero but I never used it.",
            "The gift card I bought in store is not activated.",
            "Redeeming the gift card gives an error.",
        ],
        ["礼品卡余额不对", "礼品卡没有激活", "礼品卡无法兑换"],
        ["礼品卡余额显示为零，但是我没用过。", "在门店买的礼品卡没有激活。", "兑换礼品卡时报错。"],
    ),
    "installation": (
        ["Installation appointment", "Need technician to install", "Installation service booking"],
        [
            "When can a technician come to install the air conditioner?",
            "Please book installation for the washing machine.",
            "The installer did not show up at the appointment.",
        ],
        ["预约安装", "需要师傅上门安装", "安装服务预约"],
        ["空调什么时候可以安排师傅上门安装？", "请帮我预约洗衣机安装。", "安装师傅预约了却没来。"],
    ),
    "quality_complaint": (
        ["Poor product quality", "Item fell apart after a week", "Quality complaint"],
        [
            "The stitching came loose after one wash.",
            "The handle broke off after a week of normal use.",
            "Paint is peeling off the new table.",
        ],
        ["产品质量差", "用了一周就坏了", "质量投诉"],
        ["洗了一次就开线了。", "正常用了一周把手就断了。", "新桌子的漆在脱落。"],
    ),
    "payment_failed": (
        ["Payment failed at checkout", "Card declined", "Cannot pay with PayPal"],
        [
            "Checkout says payment failed but the money left my account.",
            "My card is declined although it works elsewhere.",
            "PayPal payment keeps failing with an error.",
        ],
        ["支付失败", "银行卡支付被拒", "无法用支付宝付款"],
        [
            "结账提示支付失败，但是钱已经扣了。",
            "我的卡在别处能用，这里被拒绝。",
            "支付宝付款一直报错失败。",
        ],
    ),
    "stock_preorder": (
        ["When will this be back in stock?", "Pre-order delivery date", "Out of stock item"],
        [
            "The phone case I want is out of stock, when is the restock?",
            "When does my pre-order ship?",
            "Can you notify me when the item is available again?",
        ],
        ["什么时候补货", "预售什么时候发货", "商品缺货"],
        [
            "我想要的手机壳缺货了，什么时候补货？",
            "我的预售订单什么时候发？",
            "商品有货时能通知我吗？",
        ],
    ),
}

FILLER_EN = [
    "Thanks for your help.",
    "Please advise as soon as possible.",
    "This is urgent.",
    "I have attached a photo.",
    "My phone number is in my profile.",
    "Kind regards.",
]
FILLER_ZH = [
    "谢谢。",
    "请尽快处理。",
    "比较着急。",
    "已附上照片。",
    "我的电话在账户资料里。",
    "麻烦了。",
]

# (query, kind, language, topic or order-number placeholder)
QUERIES: list[tuple[str, str, str, str]] = [
    ("refund not received", "en", "en", "refund_delay"),
    ("refnd", "typo", "en", "refund_delay"),
    ("退款没到账", "zh", "zh", "refund_delay"),
    ("退款還沒到", "trad", "zh", "refund_delay"),
    ("parcel damaged", "en", "en", "parcel_damaged"),
    ("damgaed package", "typo", "en", "parcel_damaged"),
    ("包裹破损", "zh", "zh", "parcel_damaged"),
    ("包裹破損", "trad", "zh", "parcel_damaged"),
    ("delivery late", "en", "en", "delivery_late"),
    ("delivry dealy", "typo", "en", "delivery_late"),
    ("快递延误", "zh", "zh", "delivery_late"),
    ("reset password", "en", "en", "password_reset"),
    ("passw", "partial", "en", "password_reset"),
    ("重置密码", "zh", "zh", "password_reset"),
    ("重置密碼", "trad", "zh", "password_reset"),
    ("invoice wrong amount", "en", "en", "invoice_wrong"),
    ("invoce", "typo", "en", "invoice_wrong"),
    ("发票", "zh", "zh", "invoice_wrong"),
    ("發票", "trad", "zh", "invoice_wrong"),
    ("charged twice", "en", "en", "double_charge"),
    ("重复扣款", "zh", "zh", "double_charge"),
    ("wrong item", "en", "en", "wrong_item"),
    ("发错货", "zh", "zh", "wrong_item"),
    ("app crash", "en", "en", "app_crash"),
    ("crashs", "typo", "en", "app_crash"),
    ("APP闪退", "mixed", "zh", "app_crash"),
    ("coupon invalid", "en", "en", "coupon_invalid"),
    ("copon", "typo", "en", "coupon_invalid"),
    ("优惠券", "zh", "zh", "coupon_invalid"),
    ("change address", "en", "en", "address_change"),
    ("修改地址", "zh", "zh", "address_change"),
    ("cancel order", "en", "en", "cancel_order"),
    ("取消订单", "zh", "zh", "cancel_order"),
    ("warranty", "en", "en", "warranty_repair"),
    ("warrenty repair", "typo", "en", "warranty_repair"),
    ("保修", "zh", "zh", "warranty_repair"),
    ("verification code", "en", "en", "login_2fa"),
    ("验证码", "zh", "zh", "login_2fa"),
    ("驗證碼", "trad", "zh", "login_2fa"),
    ("loyalty points", "en", "en", "membership_points"),
    ("会员积分", "zh", "zh", "membership_points"),
    ("charger compatible", "en", "en", "product_question"),
    ("return label", "en", "en", "return_label"),
    ("退货面单", "zh", "zh", "return_label"),
    ("subscription", "en", "en", "subscription_cancel"),
    ("subscrip", "partial", "en", "subscription_cancel"),
    ("自动续费", "zh", "zh", "subscription_cancel"),
    ("delete personal data", "en", "en", "data_privacy"),
    ("GDPR", "en", "en", "data_privacy"),
    ("删除个人信息", "zh", "zh", "data_privacy"),
    ("missing screws", "en", "en", "missing_parts"),
    ("缺少配件", "zh", "zh", "missing_parts"),
    ("price drop", "en", "en", "price_adjust"),
    ("价格保护", "zh", "zh", "price_adjust"),
    ("no reply from support", "en", "en", "slow_support"),
    ("客服不回复", "zh", "zh", "slow_support"),
    ("gift card balance", "en", "en", "gift_card"),
    ("礼品卡", "zh", "zh", "gift_card"),
    ("禮品卡", "trad", "zh", "gift_card"),
    ("installation appointment", "en", "en", "installation"),
    ("instal", "partial", "en", "installation"),
    ("预约安装", "zh", "zh", "installation"),
    ("quality complaint", "en", "en", "quality_complaint"),
    ("质量投诉", "zh", "zh", "quality_complaint"),
    ("payment failed", "en", "en", "payment_failed"),
    ("paymnet faild", "typo", "en", "payment_failed"),
    ("支付失败", "zh", "zh", "payment_failed"),
    ("out of stock", "en", "en", "stock_preorder"),
    ("补货", "zh", "zh", "stock_preorder"),
    ("refund 退款", "mixed", "both", "refund_delay"),
    ("invoice 发票", "mixed", "both", "invoice_wrong"),
    ("PayPal支付失败", "mixed", "both", "payment_failed"),
]
ORDER_QUERIES = 10


def simplified_to_traditional() -> dict[str, str]:
    """The reverse of the engine's table, for simplified characters with one traditional form."""
    sources: dict[str, list[str]] = {}
    for trad, simp in zip(TRADITIONAL, SIMPLIFIED, strict=True):
        sources.setdefault(simp, []).append(trad)
    return {simp: trads[0] for simp, trads in sources.items() if len(trads) == 1}


def build(seed: int = 21, per_topic: int = 10) -> dict[str, object]:
    rng = random.Random(seed)
    to_trad = str.maketrans(simplified_to_traditional())
    tickets: list[dict[str, object]] = []
    n = 0
    for topic, (en_subj, en_body, zh_subj, zh_body) in TOPICS.items():
        for i in range(per_topic):
            n += 1
            language = "en" if i % 2 == 0 else "zh"
            order = f"SO-2026-{rng.randrange(10000):04d}-{n:03d}"
            if language == "en":
                subject = rng.choice(en_subj)
                body = f"{rng.choice(en_body)} Order {order}. {rng.choice(FILLER_EN)}"
                reply = rng.choice(["We are looking into it.", "Sorry for the trouble."])
            else:
                subject = rng.choice(zh_subj)
                body = f"{rng.choice(zh_body)}订单号{order}。{rng.choice(FILLER_ZH)}"
                reply = rng.choice(["我们正在核实。", "抱歉给您带来不便。"])
                if i % 5 == 3:
                    subject, body, reply = (x.translate(to_trad) for x in (subject, body, reply))
            tickets.append(
                {
                    "id": f"t{n:04d}",
                    "number": f"T2026110{n:07d}",
                    "topic": topic,
                    "language": language,
                    "order": order,
                    "subject": subject,
                    "description": body,
                    "messages": [reply],
                }
            )
    queries: list[dict[str, object]] = []
    for text, kind, language, topic in QUERIES:
        relevance = {
            t["id"]: (2 if language in ("both", t["language"]) else 1)
            for t in tickets
            if t["topic"] == topic
        }
        queries.append({"query": text, "kind": kind, "language": language, "relevant": relevance})
    for ticket in rng.sample(tickets, ORDER_QUERIES):
        queries.append(
            {
                "query": ticket["order"],
                "kind": "order",
                "language": "id",
                "relevant": {ticket["id"]: 2},
            }
        )
    for ticket in rng.sample(tickets, 3):
        queries.append(
            {
                "query": ticket["number"],
                "kind": "order",
                "language": "id",
                "relevant": {ticket["id"]: 2},
            }
        )
    return {"tickets": tickets, "queries": queries}


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data['tickets'])} tickets and {len(data['queries'])} queries to {OUT}")


if __name__ == "__main__":
    main()

from spiders.couriers.base import CourierPageSpider


class YtoSpider(CourierPageSpider):
    name = "yto"
    courier = "yto"
